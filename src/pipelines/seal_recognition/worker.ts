/**
 * Seal recognition, worker side (PaddleX's seal_recognition pipeline): layout detection finds the
 * `seal` regions (or the whole page is one region), and the SealOCR sub-pipeline (seal text
 * detection with polygons, curved-text crops, recognition) reads each.
 */
import type { RgbImage } from '../../io/image.js';
import { loadOptionalModel } from '../../models/registry.js';
import { cropImage } from '../../ops/resize.js';
import { defineWorker } from '../define.js';
import { documentOps, encodeOutputImage } from '../shared/documentWorker.js';
import { drawDetections } from '../shared/drawDetections.js';
import { createOcrEngine } from '../shared/ocrEngine.js';
import { LAYOUT_DETECTION, SEAL_OCR, type SealPage, type SealSettings } from './settings.js';

const worker = defineWorker(async (config, rt) => {
  const layout = await loadOptionalModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const sealOcr = await createOcrEngine(config.SubPipelines![SEAL_OCR]!, rt, `SubPipelines.${SEAL_OCR}`);

  async function predictPage(page: RgbImage, s: SealSettings): Promise<SealPage> {
    const outputImages: SealPage['outputImages'] = {};
    let regions: RgbImage[] = [page];
    let layoutDetRes: SealPage['prunedResult']['layout_det_res'];
    if (s.useLayoutDetection && layout) {
      const [boxes] = await layout.predict([page], s.layout);
      layoutDetRes = {
        boxes: boxes!.map((b) => ({ cls_id: b.clsId, label: b.label, score: b.score, coordinate: b.coordinate })),
      };
      // PaddleX's CropByBoxes: integer (truncated) corners, image[ymin:ymax, xmin:xmax]
      regions = boxes!
        .filter((b) => b.label.toLowerCase() === 'seal')
        .map(({ coordinate: [x1, y1, x2, y2] }) => {
          const [left, top] = [Math.trunc(x1), Math.trunc(y1)];
          return cropImage(page, left, top, Math.trunc(x2) - left, Math.trunc(y2) - top);
        });
      if (s.visualize) {
        outputImages.layout_det_res = await drawDetections(
          page,
          boxes!.map((b) => ({ bbox: b.coordinate, categoryId: b.clsId, categoryName: b.label, score: b.score })),
        );
      }
    }
    const sealResults = [];
    for (const [index, region] of regions.entries()) {
      const result = await sealOcr(region, s.ocr);
      sealResults.push(result.prunedResult);
      if (result.images.ocrImage) outputImages[`seal_res_region${index + 1}`] = result.images.ocrImage;
    }
    return {
      prunedResult: {
        model_settings: { use_doc_preprocessor: false, use_layout_detection: s.useLayoutDetection },
        ...(layoutDetRes ? { layout_det_res: layoutDetRes } : {}),
        seal_res_list: sealResults,
      },
      outputImages,
      ...(s.visualize ? { inputImage: await encodeOutputImage(page, s.maxOutputImgSize) } : {}),
      width: page.width,
      height: page.height,
    };
  }

  return documentOps(predictPage);
});
export default worker;
