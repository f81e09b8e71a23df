/** PP-ChatOCR's worker module (v3 and v4): the visual stage per document page, and the MLLM's image as PaddleX encodes it. */
import { decodeImage, encodeJpeg } from '../../../io/codec.js';
import { defineWorker } from '../../define.js';
import { DOCUMENT_JPEG_QUALITY, documentOps } from '../documentWorker.js';
import { createVisualStage } from './visualStage.js';

const worker = defineWorker(async (config, rt) => {
  const predictPage = await createVisualStage(config, rt);
  return {
    ...documentOps(predictPage),
    /** PaddleX's mllm_pred: the decoded image re-encoded with cv2.imencode(".jpg") (quality 95), as Base64 */
    mllmImage: async ({ image }: { image: Uint8Array }) =>
      Buffer.from(await encodeJpeg(await decodeImage(image, 'image'), DOCUMENT_JPEG_QUALITY)).toString('base64'),
  };
});
export default worker;
