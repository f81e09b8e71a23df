/** A RuntimeContext that records the session runs of a pipeline call, to replay them alone (raw model compute). */
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedModel } from '../src/config/models.js';
import type { RuntimeContext, SessionNeeds } from '../src/runtime/context.js';
import { createSession, sampleBySample, type SessionOptions, withRun } from '../src/runtime/session.js';

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

  async loadSession(model: ResolvedModel, options?: SessionNeeds): Promise<InferenceSession> {
    const { onnxPath } = model;
    const created = await createSession(onnxPath, this.options);
    this.sessions.push(created);
    // as an instance runs it: batches sample by sample on one thread
    const session = options?.splitBatches && this.options.intraOpThreads === 1 ? sampleBySample(created) : created;
    // Wrapping the session's run is the only way to see the tensors a module builds internally;
    // when not recording it adds one property check per run.
    return withRun(session, (...args) => {
      const feeds = args[0] as InferenceSession.FeedsType;
      this.recording?.push({ model: model.modelName, onnxPath, feeds, inputs: describeFeeds(feeds), replay: () => session.run(feeds) });
      return Reflect.apply(session.run, session, args);
    });
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
