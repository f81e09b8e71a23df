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
import { docPreprocessingYaml, uvdocMirrorFixtureDir } from '../helpers/docPreprocessingFixtures.js';
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
}

const base64 = async (file: string) => (await readFile(file)).toString('base64');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const ORANGE = path.join(OPENCV_DATA, 'orange.jpg');
const FRUITS = path.join(OPENCV_DATA, 'fruits.jpg');
const ASTRONAUT = path.join(SKIMAGE_DATA, 'astronaut.png');
const AERIAL = path.join(OPENCV_DATA, 'aero3.jpg');
const BUS = path.join(SHARED_MODELS, 'PicoDet-XS', 'bus.jpg');
const STREET_SIGN = path.join(SHARED_MODELS, '..', 'golden', 'ocr', 'images', 'street_sign.png');
const TS_MODELS = path.join(SHARED_MODELS, 'ts');
const CO2_CSV = path.join(TS_MODELS, 'DLinear', 'test.csv');
const STOCKS_CSV = path.join(TS_MODELS, 'DLinear_ad', 'test.csv');
const CHICK_CSV = path.join(TS_MODELS, 'TimesNet_cls', 'test_chick1.csv');

export const CONFORMANCE: ConformanceCase[] = [
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
];
