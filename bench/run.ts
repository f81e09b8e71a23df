/**
 * `npm run bench`: for the classification, detection, OCR, segmentation, anomaly and multi-label
 * pipelines, raw model compute vs the in-process pipeline vs HTTP (latency and throughput), the workers × intra-op threads trade-off,
 * and OCR against @gutenye/ocr-node (speed and CER); then the Paddle → ONNX converter (conversion time,
 * converted vs paddle2onnx raw compute). Prints plain-text tables; targets are PASS/FAIL
 * text, not exit codes. Speed targets live here, never in tests.
 *
 * BENCH_QUICK=1 shortens every measurement; BENCH_PIPELINES=classification,detection,ocr,semantic_segmentation,... picks some
 * (rotated, pedestrian, vehicle, keypoints: the two-stage fixture-model pipelines; paddle: the converter section).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../src/runtime/session.js';
import { HUMANSEG_DIR, maskRtDetrFixtureDir, multilabelFixtureDir, stfpmFixtureDir } from '../test/helpers/cvFixtures.js';
import {
  attributePipelineYaml,
  keypointPipelineYaml,
  multiModelPipelineYaml,
  rotatedDetectorFixtureDir,
} from '../test/helpers/cvPipelineFixtures.js';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from '../test/helpers/fixtures.js';
import { OPENCV_DATA, SHARED_MODELS, SKIMAGE_DATA } from '../test/helpers/paths.js';
import {
  configName,
  CORES,
  measurePipeline,
  note,
  threadsFor,
  withGutenye,
  WORKER_COUNTS,
  type BenchImage,
  type PipelineFigures,
  type PipelineSpec,
} from './measure.js';
import { renderTextPages, type TextPage } from './ocrText.js';
import { paddleConversionReport } from './paddleConvert.js';
import { compareOcr, configTable, mainTable, misreadLines, ocrTable, rawDetail, sessionVariantTable, targets } from './report.js';

const QUICK = process.env.BENCH_QUICK === '1';

async function photo(dir: string, file: string): Promise<BenchImage> {
  return { name: file, bytes: new Uint8Array(await readFile(path.join(dir, file))) };
}

const TS_MODELS = path.join(SHARED_MODELS, 'ts');

/** A time-series pipeline on its fixture model and test CSVs (the CSVs take the place of images). */
async function timeSeriesSpec(
  key: PipelineSpec['key'],
  pipeline: 'ts_forecast' | 'ts_anomaly_detection' | 'ts_classification',
  model: string,
  endpoint: string,
  csvs: string[],
  description: string,
): Promise<PipelineSpec> {
  return {
    key,
    description,
    pipeline: await fixturePipelineYaml(pipeline, path.join(TS_MODELS, model)),
    endpoint,
    images: await Promise.all(csvs.map((file) => photo(path.join(TS_MODELS, model), file))),
    request: (csv) => ({ csv, visualize: false }),
    rounds: QUICK ? 5 : 20,
    sliceMs: QUICK ? 1000 : 2500,
    slices: QUICK ? 1 : 2,
  };
}

async function pipelineSpecs(pages: TextPage[]): Promise<PipelineSpec[]> {
  const photos = await Promise.all([
    photo(OPENCV_DATA, 'messi5.jpg'),
    photo(OPENCV_DATA, 'orange.jpg'),
    photo(SKIMAGE_DATA, 'chelsea.png'),
  ]);
  const imageRequest = (image: string) => ({ image, visualize: false });
  const fast = { rounds: QUICK ? 5 : 20, sliceMs: QUICK ? 1000 : 2500, slices: QUICK ? 1 : 2 };
  return [
    {
      key: 'classification',
      description: 'MobileNetV2 int8 (+ softmax) fixture, 224x224',
      pipeline: await fixturePipelineYaml('image_classification', await classifierFixtureDir()),
      endpoint: '/image-classification',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'detection',
      description: 'PicoDet-XS fixture (with post-process), 320x320',
      pipeline: await fixturePipelineYaml('object_detection', detectorFixtureDir()),
      endpoint: '/object-detection',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'ocr',
      description: 'built-in OCR.yaml: PP-OCRv4 mobile det + ch_ppocr_mobile_v2_0_cls + PP-OCRv4 mobile rec',
      pipeline: 'OCR',
      endpoint: '/ocr',
      images: pages.map((p) => ({ name: p.name, bytes: p.png })),
      request: (file) => ({ file, fileType: 1, visualize: false }),
      rounds: QUICK ? 1 : 3,
      sliceMs: QUICK ? 2000 : 5000,
      slices: QUICK ? 1 : 2,
    },
    {
      key: 'semantic_segmentation',
      description: 'real PP-HumanSeg-Lite portrait weights (logits, argmax in post-processing), fed at PaddleX Resize keep-ratio sizes',
      pipeline: await fixturePipelineYaml('semantic_segmentation', HUMANSEG_DIR),
      endpoint: '/semantic-segmentation',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'anomaly_detection',
      description: 'STFPM-shaped fixture (two-op graph: cost is pre/post-processing, incl. the disk(4) opening), 256x256',
      pipeline: await fixturePipelineYaml('anomaly_detection', await stfpmFixtureDir()),
      endpoint: '/image-anomaly-detection',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'multilabel_classification',
      description: 'PP-HGNetV2-B6_ML-shaped fixture (channel means, no real weights), 448x448',
      pipeline: await fixturePipelineYaml('image_multilabel_classification', await multilabelFixtureDir()),
      endpoint: '/multilabel-image-classification',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'instance_segmentation',
      description: 'Mask-RT-DETR-S-shaped fixture (fixed ellipse masks at the photo size, no real weights), 640x640',
      pipeline: await fixturePipelineYaml('instance_segmentation', await maskRtDetrFixtureDir()),
      endpoint: '/instance-segmentation',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    await timeSeriesSpec(
      'ts_forecast',
      'ts_forecast',
      'DLinear',
      '/time-series-forecasting',
      ['test.csv'],
      'DLinear fixture (CO2), 96 -> 96 steps, CSV of 120 rows',
    ),
    await timeSeriesSpec(
      'ts_anomaly',
      'ts_anomaly_detection',
      'DLinear_ad',
      '/time-series-anomaly-detection',
      ['test.csv'],
      'DLinear_ad fixture (stock returns), 96 steps x 4 columns',
    ),
    await timeSeriesSpec(
      'ts_classification',
      'ts_classification',
      'TimesNet_cls',
      '/time-series-classification',
      ['test_chick1.csv', 'test_chick21.csv'],
      'TimesNet_cls fixture (chick weights), 12 steps',
    ),
    // Two-stage and rotated pipelines: PicoDet-XS stands in for the person / vehicle detectors, the
    // second models are the tests' self-made fixtures (tiny graphs), so these rows time the pipeline
    // around the models (decode, crops, affine warps, DARK decoding, JSON) more than real inference.
    {
      key: 'rotated',
      description: 'PP-YOLOE-R-L fixture (constant rows, 1024 keep-ratio resize + pad 32)',
      pipeline: await multiModelPipelineYaml('rotated_object_detection', {
        RotatedObjectDetection: { modelDir: await rotatedDetectorFixtureDir() },
      }),
      endpoint: '/rotated-object-detection',
      images: [await photo(OPENCV_DATA, 'aero3.jpg')],
      request: imageRequest,
      ...fast,
    },
    {
      key: 'pedestrian',
      description: 'PicoDet-XS + PP-LCNet_x1_0_pedestrian_attribute fixture (256x192) per box',
      pipeline: await attributePipelineYaml('pedestrian'),
      endpoint: '/pedestrian-attribute-recognition',
      images: photos,
      request: imageRequest,
      ...fast,
    },
    {
      key: 'vehicle',
      description: 'PicoDet-XS + PP-LCNet_x1_0_vehicle_attribute fixture (192x256) per box',
      pipeline: await attributePipelineYaml('vehicle'),
      endpoint: '/vehicle-attribute-recognition',
      images: [await photo(path.join(SHARED_MODELS, 'PicoDet-XS'), 'bus.jpg')],
      request: imageRequest,
      ...fast,
    },
    {
      key: 'keypoints',
      description: 'PicoDet-XS + PP-TinyPose_128x96 fixture (17 heatmaps 32x24) per box',
      pipeline: await keypointPipelineYaml(),
      endpoint: '/human-keypoint-detection',
      images: photos,
      request: imageRequest,
      ...fast,
    },
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = os.loadavg();
  const selected = process.env.BENCH_PIPELINES?.split(',').map((s) => s.trim());
  const pages = await renderTextPages();
  const specs = (await pipelineSpecs(pages)).filter((s) => !selected || selected.includes(s.key));
  // `paddle`: the Paddle → ONNX converter section, not a pipeline
  const paddle = !selected || selected.includes('paddle');
  if (!specs.length && !paddle) {
    const keys = (await pipelineSpecs(pages)).map((s) => s.key).join(', ');
    throw new Error(`BENCH_PIPELINES=${process.env.BENCH_PIPELINES}: expected some of ${keys}, paddle`);
  }

  const all: PipelineFigures[] = [];
  for (const spec of specs) {
    if (spec.key === 'ocr') {
      note('loading @gutenye/ocr-node');
      all.push(await withGutenye(pages, (baseline) => measurePipeline(spec, baseline)));
    } else {
      all.push(await measurePipeline(spec));
    }
  }
  const ocrFigures = all.find((f) => f.baseline);
  const ocr = ocrFigures && compareOcr(ocrFigures, pages);
  if (paddle) note('Paddle → ONNX converter');
  const conversion = paddle ? await paddleConversionReport(QUICK) : undefined;

  const out: string[] = [
    `pipeserve bench${QUICK ? ' (BENCH_QUICK)' : ''}: node ${process.versions.node}, onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}, ${CORES} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), CPU execution provider`,
    `load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}; figures are only trustworthy when other processes use ~0% CPU (rows below)`,
    `main configuration: ${configName(WORKER_COUNTS[0]!)} (workers x intra-op threads, PipelineService's default); in-process figures use ${threadsFor(WORKER_COUNTS[0]!)} intra-op thread(s) on this thread`,
    "ms = mean over the bench images of each image's median; images/s = closed loop with c requests in flight; visualize false, Base64 JSON bodies",
    'figures that are compared are measured interleaved (round-robin per image for latency, alternating slices for throughput)',
  ];
  if (all.length) {
    out.push(
      '',
      ...all.map((f) => `${f.spec.key}: ${f.spec.description}; images: ${f.spec.images.map((i) => i.name).join(', ')}`),
      '',
      mainTable(all),
      '',
      'raw model compute per image (the session runs the pipeline made, replayed alone on the same tensors):',
      ...rawDetail(all),
      '',
      'runtime configurations (decides what --use_hpip turns on):',
      configTable(all),
      '',
      sessionVariantTable(all),
      '(the recorded tensors on fresh sessions, one run at a time)',
    );
  }
  if (ocr) {
    const misread = misreadLines(pages, ocr);
    out.push(
      '',
      ocrTable(pages, ocr),
      '(@gutenye/ocr-node: c detect() promises in flight on this thread, onnxruntime default threads; CER: spaces ignored, both outputs put in reading order the same way)',
      ...(misread.length ? ['recognized lines that match no line of the page:', ...misread] : []),
    );
  }
  if (conversion) {
    out.push(
      '',
      'Paddle → ONNX converter: conversion time, and raw compute (session.run alone, 1 intra-op thread, interleaved) of the converted model vs the paddle2onnx export of the same weights:',
      conversion.table,
    );
  }
  out.push(
    '',
    'targets:',
    ...[...targets(all, ocr), ...(conversion?.targets ?? [])].map((l) => `  ${l}`),
    '',
    `bench took ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
