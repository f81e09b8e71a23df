/**
 * One line per registered pipeline: a YAML it can start with on the models available to tests, and
 * a valid request body for each of its endpoints. The conformance suite runs every check on each.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from '../helpers/fixtures.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS } from '../helpers/paths.js';
import { attributePipelineYaml, keypointPipelineYaml, multiModelPipelineYaml, rotatedDetectorFixtureDir } from '../helpers/cvFixtures.js';

export interface ConformanceCase {
  /** `pipeline_name` */
  pipeline: string;
  /** a YAML the server starts with */
  yaml(): Promise<string>;
  /** a valid request body per endpoint path */
  requests(): Promise<Record<string, Record<string, unknown>>>;
  /** an input file for `--input` local prediction */
  inputFile: string;
}

const base64 = async (file: string) => (await readFile(file)).toString('base64');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const ORANGE = path.join(OPENCV_DATA, 'orange.jpg');
const AERIAL = path.join(OPENCV_DATA, 'aero3.jpg');
const BUS = path.join(SHARED_MODELS, 'PicoDet-XS', 'bus.jpg');
const STREET_SIGN = path.join(SHARED_MODELS, '..', 'golden', 'ocr', 'images', 'street_sign.png');

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
];
