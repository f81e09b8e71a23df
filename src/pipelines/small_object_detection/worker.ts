import { detectionWorker } from '../shared/detectionWorker.js';

export default detectionWorker('SmallObjectDetection');
