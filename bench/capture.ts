/** A RuntimeContext that records the session runs of a pipeline call, to replay them alone (raw model compute). */
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedModel } from '../src/config/models.js';
import type { RuntimeContext } from '../src/runtime/context.js';
import { createSession, type SessionOptions } from '../src/runtime/session.js';

export interface RecordedRun {
  model: string;
  onnxPath: string;
  feeds: InferenceSession.FeedsType;
  /** input shapes, e.g. "x 1x3x224x224" */
  inputs: string;
  /** runs the session again on the very tensors the pipeline fed it */
  replay(): Promise<unknown>;
}

function describeFeeds(feeds: InferenceSession.FeedsType): string {
  return Object.entries(feeds)
    .map(([name, tensor]) => `${name} ${(tensor as { dims: readonly number[] }).dims.join('x')}`)
    .join(', ');
}

export class RecordingRuntime implements RuntimeContext {
  private recording: RecordedRun[] | undefined;
  private readonly sessions: InferenceSession[] = [];

  constructor(private readonly options: SessionOptions) {}

  async loadSession(model: ResolvedModel): Promise<InferenceSession> {
    const { onnxPath } = model;
    const session = await createSession(onnxPath, this.options);
    const originalRun = session.run;
    // Wrapping the instance's run is the only way to see the tensors a module builds internally;
    // when not recording it adds one property check per run.
    session.run = ((feeds: InferenceSession.FeedsType, ...rest: unknown[]) => {
      this.recording?.push({
        model: model.modelName,
        onnxPath,
        feeds,
        inputs: describeFeeds(feeds),
        replay: () => Reflect.apply(originalRun, session, [feeds]) as Promise<unknown>,
      });
      return Reflect.apply(originalRun, session, [feeds, ...rest]);
    }) as InferenceSession['run'];
    this.sessions.push(session);
    return session;
  }

  /** The session runs made while `call` runs. */
  async record(call: () => Promise<unknown>): Promise<RecordedRun[]> {
    this.recording = [];
    try {
      await call();
      return this.recording;
    } finally {
      this.recording = undefined;
    }
  }

  async release(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((s) => s.release()));
  }
}
