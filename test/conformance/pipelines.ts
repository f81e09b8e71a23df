/**
 * One line per registered pipeline: a YAML it can start with on the models available to tests, and
 * a valid request body for each of its endpoints. The conformance suite runs every check on each.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from '../helpers/fixtures.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS, SKIMAGE_DATA } from '../helpers/paths.js';
import { recognitionConformance } from '../helpers/recognitionFixtures.js';

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
  recognitionConformance('PP-ShiTuV2', '/shitu', path.join(SKIMAGE_DATA, 'coffee.png')),
  recognitionConformance('face_recognition', '/face-recognition', path.join(SKIMAGE_DATA, 'astronaut.png')),
];
