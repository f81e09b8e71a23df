/**
 * `npm run bench`: for the classification, detection, OCR, segmentation, anomaly and multi-label
 * pipelines, raw model compute vs the in-process pipeline vs HTTP (latency and throughput), the workers × intra-op threads trade-off,
 * OCR against its TypeScript peers ppu-paddle-ocr and @gutenye/ocr-node (ocr_peers: images/s at c=1..8 and CER), and for classification and OCR high-stability serving
 * (Triton gRPC/HTTP, instance_group count 1 vs 2) against basic serving, OCR with recognition batch_size 1
 * (ocr_rec_batch1), /document-preprocessing (doc_preprocessing), PDF pages/s with PDFium, and the Paddle → ONNX
 * converter (conversion time, converted vs paddle2onnx raw compute). Prints plain-text tables; targets are PASS/FAIL
 * text, not exit codes. Speed targets live here, never in tests.
 *
 * BENCH_QUICK=1 shortens every measurement; BENCH_PIPELINES=classification,detection,ocr,semantic_segmentation,... picks some
 * (rotated, pedestrian, vehicle, keypoints: the two-stage fixture-model pipelines; ocr_peers: OCR against its peers;
 * speech_recognition, video_classification, video_detection: the media pipelines on fixture models;
 * bev_detection: 3D BEV detection on its fixture model and the tests' sample tar;
 * overload: how fast a full pipeline answers 503; paddle: the converter section).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import { openPdf } from '../src/io/pdf.js';
import { ort } from '../src/runtime/session.js';
import { HUMANSEG_DIR, maskRtDetrFixtureDir, multilabelFixtureDir, stfpmFixtureDir } from '../test/helpers/cvFixtures.js';
import { groundingDinoFixtureDir } from '../test/helpers/openVocabularyFixtures.js';
import {
  attributePipelineYaml,
  keypointPipelineYaml,
  multiModelPipelineYaml,
  rotatedDetectorFixtureDir,
} from '../test/helpers/cvFixtures.js';
import { startServerProcess } from '../test/helpers/cli.js';
import { DOC_ORI_INT8_DIR, docPreprocessingYaml, uvdocMirrorFixtureDir } from '../test/helpers/docPreprocessingFixtures.js';
import { formulaFixtureDir, formulaPipelineYaml, renderTallFormula, renderWideFormula } from '../test/helpers/formulaFixtures.js';
import { renderTablePage, tableV1Yaml, tableV2Yaml } from '../test/helpers/tableFixtures.js';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml, fixtureTempRoot } from '../test/helpers/fixtures.js';
import { ppTsmFixtureDir, yowoFixtureDir } from '../test/helpers/videoFixtures.js';
import { bevFusionFixtureDir, bevSampleTar } from '../test/helpers/bevFixtures.js';
import { spokenSentenceWav, whisperSentenceFixture } from '../test/helpers/whisperFixture.js';
import { makePdf } from '../test/helpers/inputs.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS, SKIMAGE_DATA } from '../test/helpers/paths.js';
import {
  configName,
  CORES,
  measurePipeline,
  note,
  threadsFor,
  WORKER_COUNTS,
  type BenchImage,
  type PipelineFigures,
  type PipelineSpec,
} from './measure.js';
import { computeBoundClassifierDir } from './computeBound.js';
import { HPS_LEGEND, type HpsFigures, hpsTable, hpsTargets, measureHps } from './hps.js';
import { renderTextPages, type TextPage } from './ocrText.js';
import { measureOverload, overloadLines } from './overload.js';
import { paddleConversionReport } from './paddleConvert.js';
import { OCR_PEERS_KEY, measureOcrPeers, ocrPeersReport } from './ocrPeers.js';
import { configTable, mainTable, rawDetail, sessionVariantTable, targets } from './report.js';

const QUICK = process.env.BENCH_QUICK === '1';
/** the compute-bound fixture's layers: about 100 ms of model call per image on one core here (decoding and pre-processing take about 16) */
const COMPUTE_BOUND_LAYERS = 120;
/** pipelines with a high-stability serving section (the compute-bound one is where instance_group scaling is judged) */
const HPS_KEYS: string[] = ['classification', 'classification_compute_bound', 'ocr'];

async function photo(dir: string, file: string): Promise<BenchImage> {
  return { name: file, bytes: new Uint8Array(await readFile(path.join(dir, file))) };
}

const TS_MODELS = path.join(SHARED_MODELS, 'ts');

/** The built-in OCR.yaml with another text recognition batch_size (PaddleX's is 6). */
async function ocrYamlWithRecBatch(batchSize: number): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', 'OCR.yaml'), 'utf8'));
  config.SubModules.TextRecognition.batch_size = batchSize;
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'ocr-')), 'OCR.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}

/** pdf.js's figure from before PDFium replaced it (README; same measurement, load average near 20). */
const PDFJS_PAGES_PER_SECOND = 2.9;

/** Open + render one A4 text page at PaddleX's scale 2, on this thread's PDFium thread, for `ms`. */
async function pdfPagesPerSecond(ms: number): Promise<number> {
  const pdf = await makePdf([['Shipping notice 4471', 'Parcel weight: 2.5 kg', 'Delivery on 18 May', 'Signed by the clerk']]);
  const warm = await openPdf(pdf, 'file');
  await warm.renderPage(0);
  await warm.close();
  let pages = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    const doc = await openPdf(pdf, 'file');
    await doc.renderPage(0);
    await doc.close();
    pages++;
  }
  return pages / ((performance.now() - started) / 1000);
}

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
  const ocrLoad = {
    endpoint: '/ocr',
    images: pages.map((p) => ({ name: p.name, bytes: p.png })),
    request: (file: string) => ({ file, fileType: 1, visualize: false }),
    rounds: QUICK ? 1 : 3,
    sliceMs: QUICK ? 2000 : 5000,
    slices: QUICK ? 1 : 2,
  };
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
      key: 'classification_compute_bound',
      description: `classification with a compute-bound fixture model (${COMPUTE_BOUND_LAYERS} cache-resident 512x512 MatMul layers; bench/computeBound.ts)`,
      pipeline: await fixturePipelineYaml('image_classification', await computeBoundClassifierDir(COMPUTE_BOUND_LAYERS)),
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
      description:
        'built-in OCR.yaml: PP-OCRv4 mobile det + ch_ppocr_mobile_v2_0_cls + PP-OCRv4 mobile rec, recognition batch_size 6 (PaddleX)',
      pipeline: 'OCR',
      ...ocrLoad,
    },
    {
      key: 'ocr_rec_batch1',
      description: 'as ocr, recognition batch_size 1 (no padding; results no longer identical to PaddleX)',
      pipeline: await ocrYamlWithRecBatch(1),
      ...ocrLoad,
    },
    {
      key: 'doc_preprocessing',
      description:
        '/document-preprocessing: real PP-LCNet_x1_0_doc_ori int8 + the UVDoc stand-in (grid_sample at page size, no real UVDoc weights) on the pages turned 90°',
      pipeline: await docPreprocessingYaml({ unwarpingDir: await uvdocMirrorFixtureDir() }),
      endpoint: '/document-preprocessing',
      images: await Promise.all(
        pages.map(async (p) => ({ name: `${p.name} turned 90`, bytes: new Uint8Array(await sharp(p.png).rotate(90).png().toBuffer()) })),
      ),
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
    {
      key: 'open_vocabulary_detection',
      description:
        'GroundingDINO-T-shaped fixture (token-matching logits, no real weights), shorter side 800, prompt "cat . remote control"',
      pipeline: await fixturePipelineYaml('open_vocabulary_detection', await groundingDinoFixtureDir()),
      endpoint: '/open-vocabulary-detection',
      images: photos,
      request: (image: string) => ({ image, prompt: 'cat . remote control' }),
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
    // Media pipelines on the tests' self-made fixtures (tiny graphs, no real weights): these rows time
    // decoding (audio-decode, ffmpeg), features, sampling and the decoding loop, not real inference.
    {
      key: 'speech_recognition',
      description: 'Whisper-shaped fixture (one-hot decoder), espeak-ng sentence 1.9 s, greedy decoding',
      pipeline: await fixturePipelineYaml('multilingual_speech_recognition', (await whisperSentenceFixture()).dir),
      endpoint: '/multilingual-speech-recognition',
      images: [await photo(path.dirname(spokenSentenceWav()), 'spoken.wav')],
      request: (audio) => ({ audio }),
      ...fast,
    },
    {
      key: 'video_classification',
      description: 'PP-TSM-shaped fixture (channel means), tree.avi 320x240, 8 frames sampled',
      pipeline: await fixturePipelineYaml('video_classification', await ppTsmFixtureDir()),
      endpoint: '/video-classification',
      images: [await photo(OPENCV_DATA, 'tree.avi')],
      request: (video) => ({ video }),
      ...fast,
    },
    {
      key: 'video_detection',
      description: 'YOWO-shaped fixture (brightest cell), tree.avi 68 frames, one run per frame',
      pipeline: await fixturePipelineYaml('video_detection', await yowoFixtureDir()),
      endpoint: '/video-detection',
      images: [await photo(OPENCV_DATA, 'tree.avi')],
      request: (video) => ({ video }),
      rounds: QUICK ? 1 : 3,
      sliceMs: QUICK ? 2000 : 5000,
      slices: QUICK ? 1 : 2,
    },
    {
      key: 'bev_detection',
      description:
        "BEVFusion-shaped FIXTURE (no real weights: means and matrix cells out), the tests' sample tar: 6 PNG cameras 1600x900 → 800x448, 64 points + 2 sweeps; times tar/pickle reading and pre-processing",
      pipeline: await fixturePipelineYaml('3d_bev_detection', await bevFusionFixtureDir()),
      endpoint: '/bev-3d-object-detection',
      images: [{ name: 'sample.tar', bytes: new Uint8Array(await readFile(bevSampleTar().file)) }],
      request: (tar) => ({ tar }),
      ...fast,
    },
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
      key: 'formula',
      description:
        '/formula-recognition without layout or doc preprocessing: PP-FormulaNet_plus-M-shaped fixture (384x384 input, token ids out; no real weights), so this times the pre-processing, tokenizer decode and normalisation',
      pipeline: await formulaPipelineYaml(
        await formulaFixtureDir('PP-FormulaNet_plus-M', { wide: [0, 4, 5, 6, 7, 2], tall: [0, 12, 9, 13, 11, 2], rowsThreshold: 200 }),
      ),
      endpoint: '/formula-recognition',
      images: [
        { name: 'E = mc²', bytes: new Uint8Array(renderWideFormula()) },
        { name: '(a + b) / 2', bytes: new Uint8Array(renderTallFormula()) },
      ],
      request: (file) => ({ file, fileType: 1, visualize: false }),
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
    // Table recognition on the tests' rendered 640x240 table: the structure, classifier and cell
    // detector are self-made fixtures (constant outputs), OCR is the shipped PP-OCRv4 mobile pair, so
    // these rows time the OCR and the pipeline's own work, not real SLANet / RT-DETR inference.
    {
      key: 'table_recognition',
      description: 'table_recognition: SLANet_plus fixture (constant tokens) + PP-OCRv4 mobile det/rec, whole page as the table',
      pipeline: await tableV1Yaml(),
      endpoint: '/table-recognition',
      images: [{ name: 'rendered table', bytes: new Uint8Array(renderTablePage()) }],
      request: (file) => ({ file, fileType: 1, visualize: false }),
      ...fast,
    },
    {
      key: 'table_recognition_v2',
      description:
        'table_recognition_v2: real PP-LCNet_x1_0_doc_ori int8 (table orientation) + table_cls, SLANeXt and RT-DETR-L cell fixtures + PP-OCRv4 mobile',
      pipeline: await tableV2Yaml({
        clsScores: [0.8, 0.2],
        cellScores: [0.95, 0.9, 0.85, 0.8, 0.75, 0.7],
        orientationDir: DOC_ORI_INT8_DIR,
      }),
      endpoint: '/table-recognition',
      images: [{ name: 'rendered table', bytes: new Uint8Array(renderTablePage()) }],
      request: (file) => ({ file, fileType: 1, visualize: false }),
      ...fast,
    },
  ];
}

const OVERLOAD_KEY = 'overload';
const OVERLOAD_MAX_QUEUE = 2;
/** clients in flight: well over what the pipeline admits */
const OVERLOAD_FILLERS = OVERLOAD_MAX_QUEUE + 1 + 8;
const OVERLOAD_MS = QUICK ? 8000 : 20_000;

/** How fast a full pipeline refuses: the server in its own process, so the load generator does not share its event loop. */
async function overloadFigures(): Promise<{ summary: string; target: string }> {
  note(`${OVERLOAD_KEY}: ${OVERLOAD_FILLERS} clients against 1 instance + queue ${OVERLOAD_MAX_QUEUE}`);
  const yaml = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
  const server = await startServerProcess(['--pipeline', yaml, '--workers', '1', '--max-queue', String(OVERLOAD_MAX_QUEUE)]);
  try {
    const image = await photo(SKIMAGE_DATA, 'chelsea.png');
    const body = Buffer.from(JSON.stringify({ image: Buffer.from(image.bytes).toString('base64'), visualize: false }));
    return overloadLines(await measureOverload(server.url, '/image-classification', body, OVERLOAD_FILLERS, OVERLOAD_MS));
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = os.loadavg();
  const selected = process.env.BENCH_PIPELINES?.split(',').map((s) => s.trim());
  const pages = await renderTextPages();
  const allSpecs = await pipelineSpecs(pages);
  const specs = allSpecs.filter((s) => !selected || selected.includes(s.key));
  const withOverload = !selected || selected.includes(OVERLOAD_KEY);
  const withOcrPeers = !selected || selected.includes(OCR_PEERS_KEY);
  // `paddle`: the Paddle → ONNX converter section, not a pipeline
  const paddle = !selected || selected.includes('paddle');
  if (!specs.length && !withOverload && !withOcrPeers && !paddle) {
    const keys = allSpecs.map((s) => s.key).join(', ');
    throw new Error(`BENCH_PIPELINES=${process.env.BENCH_PIPELINES}: expected some of ${keys}, ${OCR_PEERS_KEY}, ${OVERLOAD_KEY}, paddle`);
  }

  const all: PipelineFigures[] = [];
  for (const spec of specs) all.push(await measurePipeline(spec));
  const ocrSpec = allSpecs.find((s) => s.key === 'ocr')!;
  const ocrPeers = withOcrPeers
    ? ocrPeersReport(await measureOcrPeers(ocrSpec, pages, QUICK ? 2 : 5, ocrSpec.sliceMs, ocrSpec.slices), pages)
    : undefined;
  const hps: HpsFigures[] = [];
  for (const spec of specs.filter((s) => HPS_KEYS.includes(s.key))) hps.push(await measureHps(spec));
  const overload = withOverload ? await overloadFigures() : undefined;
  note('PDF rendering');
  const pdfRate = await pdfPagesPerSecond(QUICK ? 3000 : 10000);
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
  if (hps.length) out.push('', hpsTable(hps), HPS_LEGEND);
  if (ocrPeers) out.push('', `OCR against its TypeScript peers (${OCR_PEERS_KEY}):`, ...ocrPeers.lines);
  if (overload) {
    out.push(
      '',
      `overload (${OVERLOAD_KEY}): a separate server process, classification fixture, 1 instance, --max-queue ${OVERLOAD_MAX_QUEUE} (admits ${OVERLOAD_MAX_QUEUE + 1}), ${OVERLOAD_FILLERS} clients POSTing chelsea.png (313 KB body) for ${OVERLOAD_MS / 1000} s, plus serial probes`,
      overload.summary,
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
    `PDF rendering (open + render one A4 text page at scale 2, one PDFium thread): ${pdfRate.toFixed(1)} pages/s; ` +
      `reference: pdf.js before the move to PDFium, ${PDFJS_PAGES_PER_SECOND} pages/s (README, measured with the load average near 20)`,
    '',
    'targets:',
    ...[...targets(all), ...(ocrPeers?.targets ?? []), ...hpsTargets(hps), ...(conversion?.targets ?? [])].map((l) => `  ${l}`),
    ...(overload ? [`  ${overload.target}`] : []),
    '',
    `bench took ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
