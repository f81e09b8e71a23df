import { recognitionWorker } from '../shared/imageRecognitionWorker.js';

// Unlike ShiTu, no face means no result (PaddleX's FaceRecPipeline).
export default recognitionWorker({ wholeImageFallback: false, featureFamily: 'face_feature' });
