/**
 * One line per registered pipeline: a YAML it can start with on the models available to tests, and
 * a valid request body for each of its endpoints. The conformance suite runs every check on each.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from '../helpers/fixtures.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS, SKIMAGE_DATA } from '../helpers/paths.js';
import { HUMANSEG_DIR, maskRtDetrFixtureDir, multilabelFixtureDir, stfpmFixtureDir } from '../helpers/cvFixtures.js';
import { attributePipelineYaml, keypointPipelineYaml, multiModelPipelineYaml, rotatedDetectorFixtureDir } from '../helpers/cvFixtures.js';
import { recognitionConformance } from '../helpers/recognitionFixtures.js';
import { renderStamp, sealDetectorFixtureDir, sealPipelineYaml, stampImageFile } from '../helpers/docFixtures.js';
import { DOC_ORI_INT8_DIR, docPreprocessingYaml, uvdocMirrorFixtureDir } from '../helpers/docPreprocessingFixtures.js';
import { formulaFixtureDir, formulaPipelineYaml, wideFormulaFile } from '../helpers/formulaFixtures.js';
import { tablePageFile, tableV1Yaml, tableV2Yaml } from '../helpers/tableFixtures.js';
import { ppTsmFixtureDir, yowoFixtureDir } from '../helpers/videoFixtures.js';
import { bevFusionFixtureDir, bevSampleTar } from '../helpers/bevFixtures.js';
import { spokenSentenceWav, whisperSentenceFixture } from '../helpers/whisperFixture.js';
import { groundingDinoFixtureDir, samFixtureDir } from '../helpers/openVocabularyFixtures.js';
import { chatOcrYaml, INVOICE_FILE, invoiceImageFile, sharedLlmStub } from '../helpers/chatocrFixtures.js';
import { docTranslationYaml } from '../helpers/docTranslationFixtures.js';
import { layoutFixtureDir, layoutPipelineYaml, PAGE_HEIGHT, PAGE_WIDTH, RICH, richPageFile } from '../helpers/layoutDocs.js';

export interface ConformanceCase {
  /** `pipeline_name` */
  pipeline: string;
  /** a YAML the server starts with */
  yaml(): Promise<string>;
  /**
   * A valid request body per endpoint path. `serverUrl` is the running server, for endpoints that
   * need state first (e.g. ShiTu's indexKey comes from an index built there).
   */
  requests(serverUrl: string): Promise<Record<string, Record<string, unknown>>>;
  /** an input file for `--input` local prediction */
  inputFile: string;
  /** more flags `--input` needs (e.g. open-vocabulary detection's `--prompt`) */
  inputArgs?: string[];
}

const base64 = async (file: string) => (await readFile(file)).toString('base64');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const ORANGE = path.join(OPENCV_DATA, 'orange.jpg');
const FRUITS = path.join(OPENCV_DATA, 'fruits.jpg');
const ASTRONAUT = path.join(SKIMAGE_DATA, 'astronaut.png');
const CHELSEA = path.join(SKIMAGE_DATA, 'chelsea.png');
const AERIAL = path.join(OPENCV_DATA, 'aero3.jpg');
const BUS = path.join(SHARED_MODELS, 'PicoDet-XS', 'bus.jpg');
const STREET_SIGN = path.join(SHARED_MODELS, '..', 'golden', 'ocr', 'images', 'street_sign.png');
const TS_MODELS = path.join(SHARED_MODELS, 'ts');
const CO2_CSV = path.join(TS_MODELS, 'DLinear', 'test.csv');
const STOCKS_CSV = path.join(TS_MODELS, 'DLinear_ad', 'test.csv');
const CHICK_CSV = path.join(TS_MODELS, 'TimesNet_cls', 'test_chick1.csv');
const TREE_VIDEO = path.join(OPENCV_DATA, 'tree.avi');

export const CONFORMANCE: ConformanceCase[] = [
  {
    pipeline: 'multilingual_speech_recognition',
    yaml: async () => fixturePipelineYaml('multilingual_speech_recognition', (await whisperSentenceFixture()).dir),
    requests: async () => ({ '/multilingual-speech-recognition': { audio: await base64(spokenSentenceWav()) } }),
    get inputFile() {
      return spokenSentenceWav();
    },
  },
  {
    pipeline: 'video_classification',
    yaml: async () => fixturePipelineYaml('video_classification', await ppTsmFixtureDir()),
    requests: async () => ({ '/video-classification': { video: await base64(TREE_VIDEO) } }),
    inputFile: TREE_VIDEO,
  },
  {
    pipeline: 'video_detection',
    yaml: async () => fixturePipelineYaml('video_detection', await yowoFixtureDir()),
    requests: async () => ({ '/video-detection': { video: await base64(TREE_VIDEO) } }),
    inputFile: TREE_VIDEO,
  },
  {
    pipeline: '3d_bev_detection',
    yaml: async () => fixturePipelineYaml('3d_bev_detection', await bevFusionFixtureDir()),
    requests: async () => ({ '/bev-3d-object-detection': { tar: await base64(bevSampleTar().file) } }),
    get inputFile() {
      return bevSampleTar().file;
    },
  },
  {
    pipeline: 'image_classification',
    yaml: async () => fixturePipelineYaml('image_classification', await classifierFixtureDir()),
    requests: async () => ({ '/image-classification': { image: await base64(ORANGE) } }),
    inputFile: ORANGE,
  },
  {
    pipeline: 'object_detection',
    yaml: () => fixturePipelineYaml('object_detection', detectorFixtureDir()),
    requests: async () => ({ '/object-detection': { image: await base64(MESSI) } }),
    inputFile: MESSI,
  },
  {
    pipeline: 'small_object_detection',
    yaml: () => fixturePipelineYaml('small_object_detection', detectorFixtureDir()),
    requests: async () => ({ '/small-object-detection': { image: await base64(MESSI) } }),
    inputFile: MESSI,
  },
  {
    pipeline: 'OCR',
    yaml: async () => path.join(REPO_ROOT, 'configs', 'OCR.yaml'),
    requests: async () => ({ '/ocr': { file: await base64(STREET_SIGN), fileType: 1 } }),
    inputFile: STREET_SIGN,
  },
  {
    pipeline: 'doc_preprocessor',
    // the real doc orientation model; UVDoc's stand-in (weights not available here)
    yaml: async () => docPreprocessingYaml({ unwarpingDir: await uvdocMirrorFixtureDir() }),
    requests: async () => ({ '/document-preprocessing': { file: await base64(STREET_SIGN), fileType: 1 } }),
    inputFile: STREET_SIGN,
  },
  {
    pipeline: 'semantic_segmentation',
    yaml: () => fixturePipelineYaml('semantic_segmentation', HUMANSEG_DIR),
    requests: async () => ({ '/semantic-segmentation': { image: await base64(ASTRONAUT) } }),
    inputFile: ASTRONAUT,
  },
  {
    pipeline: 'anomaly_detection',
    yaml: async () => fixturePipelineYaml('anomaly_detection', await stfpmFixtureDir()),
    requests: async () => ({ '/image-anomaly-detection': { image: await base64(FRUITS) } }),
    inputFile: FRUITS,
  },
  {
    pipeline: 'image_multilabel_classification',
    yaml: async () => fixturePipelineYaml('image_multilabel_classification', await multilabelFixtureDir()),
    requests: async () => ({ '/multilabel-image-classification': { image: await base64(FRUITS) } }),
    inputFile: FRUITS,
  },
  {
    pipeline: 'instance_segmentation',
    yaml: async () => fixturePipelineYaml('instance_segmentation', await maskRtDetrFixtureDir()),
    requests: async () => ({ '/instance-segmentation': { image: await base64(MESSI) } }),
    inputFile: MESSI,
  },
  {
    pipeline: 'ts_forecast',
    yaml: () => fixturePipelineYaml('ts_forecast', path.join(TS_MODELS, 'DLinear')),
    requests: async () => ({ '/time-series-forecasting': { csv: await base64(CO2_CSV) } }),
    inputFile: CO2_CSV,
  },
  {
    pipeline: 'ts_anomaly_detection',
    yaml: () => fixturePipelineYaml('ts_anomaly_detection', path.join(TS_MODELS, 'DLinear_ad')),
    requests: async () => ({ '/time-series-anomaly-detection': { csv: await base64(STOCKS_CSV) } }),
    inputFile: STOCKS_CSV,
  },
  {
    pipeline: 'ts_classification',
    yaml: () => fixturePipelineYaml('ts_classification', path.join(TS_MODELS, 'TimesNet_cls')),
    requests: async () => ({ '/time-series-classification': { csv: await base64(CHICK_CSV) } }),
    inputFile: CHICK_CSV,
  },
  {
    pipeline: 'rotated_object_detection',
    yaml: async () =>
      multiModelPipelineYaml('rotated_object_detection', { RotatedObjectDetection: { modelDir: await rotatedDetectorFixtureDir() } }),
    requests: async () => ({ '/rotated-object-detection': { image: await base64(AERIAL) } }),
    inputFile: AERIAL,
  },
  {
    pipeline: 'pedestrian_attribute_recognition',
    yaml: () => attributePipelineYaml('pedestrian'),
    requests: async () => ({ '/pedestrian-attribute-recognition': { image: await base64(MESSI) } }),
    inputFile: MESSI,
  },
  {
    pipeline: 'vehicle_attribute_recognition',
    yaml: () => attributePipelineYaml('vehicle'),
    requests: async () => ({ '/vehicle-attribute-recognition': { image: await base64(BUS) } }),
    inputFile: BUS,
  },
  {
    pipeline: 'human_keypoint_detection',
    yaml: () => keypointPipelineYaml(),
    requests: async () => ({ '/human-keypoint-detection': { image: await base64(MESSI) } }),
    inputFile: MESSI,
  },
  recognitionConformance('PP-ShiTuV2', '/shitu', path.join(SKIMAGE_DATA, 'coffee.png')),
  recognitionConformance('face_recognition', '/face-recognition', path.join(SKIMAGE_DATA, 'astronaut.png')),
  {
    pipeline: 'seal_recognition',
    yaml: async () => sealPipelineYaml(await sealDetectorFixtureDir(renderStamp(600).band)),
    requests: async () => ({ '/seal-recognition': { file: await base64(stampImageFile()), fileType: 1 } }),
    inputFile: stampImageFile(),
  },
  {
    pipeline: 'table_recognition',
    yaml: tableV1Yaml,
    requests: async () => ({ '/table-recognition': { file: await base64(tablePageFile()), fileType: 1 } }),
    inputFile: tablePageFile(),
  },
  {
    pipeline: 'table_recognition_v2',
    yaml: () => tableV2Yaml({ clsScores: [0.8, 0.2], cellScores: [0.95, 0.9, 0.85, 0.8, 0.75, 0.7], orientationDir: DOC_ORI_INT8_DIR }),
    requests: async () => ({ '/table-recognition': { file: await base64(tablePageFile()), fileType: 1 } }),
    inputFile: tablePageFile(),
  },
  {
    pipeline: 'formula_recognition',
    yaml: async () =>
      formulaPipelineYaml(await formulaFixtureDir('PP-FormulaNet_plus-M', { wide: [0, 4, 5, 6, 2], tall: [0, 12, 2], rowsThreshold: 200 })),
    requests: async () => ({ '/formula-recognition': { file: await base64(wideFormulaFile()), fileType: 1 } }),
    inputFile: wideFormulaFile(),
  },
  {
    pipeline: 'open_vocabulary_detection',
    yaml: async () => fixturePipelineYaml('open_vocabulary_detection', await groundingDinoFixtureDir()),
    requests: async () => ({ '/open-vocabulary-detection': { image: await base64(CHELSEA), prompt: 'cat . remote control' } }),
    inputFile: CHELSEA,
    inputArgs: ['--prompt', 'cat'],
  },
  {
    pipeline: 'open_vocabulary_segmentation',
    yaml: async () =>
      multiModelPipelineYaml('open_vocabulary_segmentation', {
        BoxPromptSegmentation: { modelDir: await samFixtureDir('box') },
        PointPromptSegmentation: { modelDir: await samFixtureDir('point') },
      }),
    requests: async () => ({
      '/open-vocabulary-segmentation': { image: await base64(CHELSEA), prompt: [[120, 40, 300, 220]], promptType: 'box' },
    }),
    inputFile: CHELSEA,
    inputArgs: ['--prompt', '[[225, 150]]', '--prompt_type', 'point'],
  },
  ...(['PP-ChatOCRv3-doc', 'PP-ChatOCRv4-doc'] as const).map((pipeline) => chatOcrCase(pipeline)),
  {
    pipeline: 'layout_parsing',
    yaml: async () => layoutPipelineYaml('layout_parsing', await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH)),
    requests: async () => ({ '/layout-parsing': { file: await base64(richPageFile()), fileType: 1 } }),
    inputFile: richPageFile(),
  },
  {
    pipeline: 'PP-StructureV3',
    yaml: async () => layoutPipelineYaml('PP-StructureV3', await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH)),
    requests: async () => ({
      '/layout-parsing': { file: await base64(richPageFile()), fileType: 1 },
      '/concatenate-pages': { pages: [{ text: 'One page', isStart: true, isEnd: true }] },
    }),
    inputFile: richPageFile(),
  },
  {
    pipeline: 'PP-DocTranslation',
    yaml: async () => docTranslationYaml((await sharedLlmStub()).baseUrl, await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH)),
    requests: async () => ({
      '/doctrans-visual': { file: await base64(richPageFile()), fileType: 1 },
      '/doctrans-translate': { markdownList: [{ text: 'One page.', isStart: true, isEnd: true }], targetLanguage: 'en' },
    }),
    inputFile: richPageFile(),
  },
];

/** A ChatOCR case: the LLM upstreams are a local stub; the vector and chat requests carry the visualInfo the server read. */
function chatOcrCase(pipeline: 'PP-ChatOCRv3-doc' | 'PP-ChatOCRv4-doc'): ConformanceCase {
  return {
    pipeline,
    yaml: async () => {
      await invoiceImageFile(); // the --input file, at the path inputFile names
      return chatOcrYaml(pipeline, { llmBaseUrl: (await sharedLlmStub()).baseUrl });
    },
    requests: async (serverUrl) => {
      const file = await base64(await invoiceImageFile());
      const visual = await fetch(`${serverUrl}/chatocr-visual`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ file, fileType: 1, visualize: false }),
      });
      const { visualInfo } = ((await visual.json()) as { result: { visualInfo: unknown[] } }).result;
      return {
        '/chatocr-visual': { file, fileType: 1 },
        '/chatocr-vector': { visualInfo, minCharacters: 10 },
        '/chatocr-chat': { keyList: ['Invoice', 'Total'], visualInfo },
        ...(pipeline === 'PP-ChatOCRv4-doc' ? { '/chatocr-mllm': { image: file, keyList: ['Total'] } } : {}),
      };
    },
    inputFile: INVOICE_FILE,
  };
}
