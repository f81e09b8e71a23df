import { recognitionWorker } from '../shared/imageRecognitionWorker.js';

// PaddleX's ShiTu recognises the whole image when its main-body detector finds nothing.
export default recognitionWorker({ wholeImageFallback: true, featureFamily: 'image_feature' });
