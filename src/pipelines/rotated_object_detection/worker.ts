import { detectionWorker } from '../shared/detectionWorker.js';

export default detectionWorker('RotatedObjectDetection', { rotated: true });
