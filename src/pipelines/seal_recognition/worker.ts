/**
 * Seal recognition, worker side (PaddleX's seal_recognition pipeline): doc preprocessing (optional),
 * then layout detection finds the `seal` regions (or the whole page is one region), and the SealOCR
 * sub-pipeline (seal text detection with polygons, curved-text crops, recognition) reads each.
 */
import type { RgbImage } from '../../io/image.js';
import { loadOptionalModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import { DOC_PREPROCESSOR } from '../shared/docPreprocessing.js';
import { loadDocPreprocessor, runDocPreprocessingStage } from '../shared/docPreprocessingWorker.js';
import { documentOps, pageWithOutputImages } from '../shared/documentWorker.js';
import { LAYOUT_DETECTION } from '../shared/layoutRegions.js';
import { detectLayoutRegions } from '../shared/layoutRegionsWorker.js';
import { createOcrEngine } from '../shared/ocrEngine.js';
import { SEAL_OCR, type SealPage, type SealSettings } from './settings.js';

const worker = defineWorker(async (config, rt) => {
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.[DOC_PREPROCESSOR], rt, `SubPipelines.${DOC_PREPROCESSOR}`);
  const layout = await loadOptionalModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const sealOcr = await createOcrEngine(config.SubPipelines![SEAL_OCR]!, rt, `SubPipelines.${SEAL_OCR}`);

  async function predictPage(input: RgbImage, s: SealSettings): Promise<SealPage> {
    const doc = await runDocPreprocessingStage(preprocess, input, s);
    const page = doc.image;
    const outputImages: SealPage['outputImages'] = {};
    if (doc.drawing) outputImages.preprocessed_img = doc.drawing;
    let regions: RgbImage[] = [page];
    let layoutDetRes: SealPage['prunedResult']['layout_det_res'];
    if (s.useLayoutDetection && layout) {
      const found = await detectLayoutRegions(layout, page, s.layout, 'seal', s.visualize);
      layoutDetRes = found.layoutDetRes;
      regions = found.regions.map((r) => r.image);
      if (found.drawing) outputImages.layout_det_res = found.drawing;
    }
    const sealResults = [];
    for (const [index, region] of regions.entries()) {
      const result = await sealOcr(region, s.ocr);
      sealResults.push(result.prunedResult);
      if (result.images.ocrImage) outputImages[`seal_res_region${index + 1}`] = result.images.ocrImage;
    }
    const prunedResult = {
      model_settings: { use_doc_preprocessor: s.useDocPreprocessor, use_layout_detection: s.useLayoutDetection },
      ...(doc.result ? { doc_preprocessor_res: doc.result } : {}),
      ...(layoutDetRes ? { layout_det_res: layoutDetRes } : {}),
      seal_res_list: sealResults,
    };
    return pageWithOutputImages(prunedResult, outputImages, input, s);
  }

  return documentOps(predictPage);
});
export default worker;
