import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Real model fixtures shared with the project (never copied into it). */
export const SHARED_MODELS = path.resolve(REPO_ROOT, '../shared/models');
/** Test photos from Debian packages installed by .ci/run. */
export const OPENCV_DATA = '/usr/share/doc/opencv-doc/examples/data';
export const SKIMAGE_DATA = '/usr/lib/python3/dist-packages/skimage/data';
export const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
