/**
 * `npm run bench:profile-ocr`: where an OCR request's time goes on its instance. The built-in OCR
 * pipeline's worker runs on this thread (1 intra-op thread, as an instance of the default 2 × 1) over
 * the bench's pages; after one warm-up round, `ROUNDS` rounds (default 3) are CPU-profiled. Writes the
 * profile (open it in Chrome DevTools' Performance panel or speedscope.app for a flame graph) and
 * prints ms per page by stage, session.run apart from everything else.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { PipelineService } from '../src/serving/service.js';
import { RecordingRuntime } from './capture.js';
import { captureWorkerRuns } from './measure.js';
import { renderTextPages } from './ocrText.js';
import { formatTable } from './table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages by the functions that do them; a sample belongs to the nearest caller that matches. */
const STAGES: Array<[string, (fn: string, url: string) => boolean]> = [
  ['session.run (model compute)', (fn, url) => url.endsWith('onnxruntime-common/dist/esm/inference-session-impl.js') && fn === 'run'],
  ['session.run (model compute)', (_fn, url) => url.includes('onnxruntime-node') && url.endsWith('backend.js')],
  ['CTC decode', (fn) => fn === 'ctcGreedyDecode'],
  ['recognition input (resize + normalise each line)', (fn) => fn === 'lineBatchTensor' || fn === 'writeLineTensor'],
  ['text-line crops (min-area box + perspective warp)', (fn) => fn === 'cropMinAreaRects'],
  ['turning upside-down lines', (fn) => fn === 'rotateImageLikePaddleX'],
  ['DB post-processing (contours, scores, unclip)', (_fn, url) => url.endsWith('/ops/dbPostprocess.js')],
  ['detection input (resize + normalise)', (fn, url) => fn === 'predict' && url.endsWith('/models/textDetection.js')],
  ['image decode (sharp)', (fn, url) => fn === 'decodeImage' || url.includes('/sharp/')],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['idle (waiting)', (fn) => fn === '(idle)'],
];

function stageTimes(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const times = new Map<string, number>();
  profile.samples.forEach((sample, i) => {
    let stage = 'other';
    for (let id: number | undefined = sample; id !== undefined; id = parentOf.get(id)) {
      const { functionName, url } = byId.get(id)!.callFrame;
      const match = STAGES.find(([, test]) => test(functionName, url));
      if (match) {
        stage = match[0];
        break;
      }
    }
    times.set(stage, (times.get(stage) ?? 0) + profile.timeDeltas[i]! / 1000);
  });
  return times;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.ROUNDS ?? 3);
  const pages = await renderTextPages();
  const service = await PipelineService.start({ pipelines: ['OCR'], workers: 1, device: 'cpu', log: () => {} });
  const runtime = new RecordingRuntime({ device: { kind: 'cpu', id: 0 }, intraOpThreads: 1 });
  try {
    const served = service.endpoint('/ocr')!;
    const requests = pages.map((page) => ({ file: Buffer.from(page.png).toString('base64'), fileType: 1, visualize: false }));
    // runs every page once (the warm-up)
    const { runOp } = await captureWorkerRuns(served, requests, runtime);
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const started = performance.now();
    for (let round = 0; round < rounds; round++) for (let item = 0; item < pages.length; item++) await runOp(item);
    const wallMs = performance.now() - started;
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    const file = path.join(os.tmpdir(), `pipeserve-ocr-${Date.now()}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));

    const runs = rounds * pages.length;
    const times = [...stageTimes(profile)].sort((a, b) => b[1] - a[1]);
    const busy = times.filter(([stage]) => !stage.startsWith('idle')).reduce((sum, [, ms]) => sum + ms, 0);
    process.stdout.write(
      [
        `OCR on this thread, ${rounds} rounds over ${pages.length} pages (${pages.map((p) => p.name).join(', ')}), 1 intra-op thread, text-line orientation on, visualize off;`,
        `${(wallMs / runs).toFixed(1)} ms per page wall time; load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')} (figures are inflated on a busy machine)`,
        '',
        formatTable(
          ['stage', 'ms per page', 'share of busy time'],
          times.map(([stage, ms]) => [stage, (ms / runs).toFixed(1), stage.startsWith('idle') ? '' : `${((ms / busy) * 100).toFixed(1)}%`]),
        ),
        '',
        `profile: ${file} (a flame graph in Chrome DevTools' Performance panel or speedscope.app)`,
        '',
      ].join('\n'),
    );
  } finally {
    await runtime.release();
    await service.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
