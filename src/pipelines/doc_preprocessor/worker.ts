/** doc_preprocessor, worker side: per image or PDF page, orientation → unwarping, and the output images. */
import { encodePng } from '../../io/codec.js';
import type { RgbImage } from '../../io/image.js';
import { defineWorker } from '../define.js';
import type { DocPreprocessingResult, DocPreprocessingSteps } from '../shared/docPreprocessing.js';
import { drawDocPreprocessing, loadDocPreprocessor } from '../shared/docPreprocessingWorker.js';
import { documentOps, encodeOutputImage } from '../shared/documentWorker.js';

export interface DocPreprocessingSettings {
  steps: DocPreprocessingSteps;
  visualize: boolean;
  /** [height, width] of Serving.extra.max_output_img_size */
  maxOutputImgSize: [number, number];
}

export interface DocPreprocessingPage {
  prunedResult: DocPreprocessingResult;
  /** the corrected page, PNG at full size (PaddleX returns it whatever `visualize` says) */
  outputImage: Uint8Array;
  docPreprocessingImage?: Uint8Array;
  inputImage?: Uint8Array;
  width: number;
  height: number;
}

const worker = defineWorker(async (config, rt) => {
  const preprocess = await loadDocPreprocessor(config, rt, '');

  async function preprocessPage(input: RgbImage, s: DocPreprocessingSettings): Promise<DocPreprocessingPage> {
    const done = await preprocess(input, s.steps);
    const page: DocPreprocessingPage = {
      prunedResult: done.result,
      outputImage: await encodePng(done.output),
      width: input.width,
      height: input.height,
    };
    if (s.visualize) {
      page.docPreprocessingImage = await drawDocPreprocessing(input, done, s.maxOutputImgSize);
      page.inputImage = await encodeOutputImage(input, s.maxOutputImgSize);
    }
    return page;
  }

  return documentOps(preprocessPage);
});
export default worker;
