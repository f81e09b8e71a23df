/**
 * PaddleX's OCR pipeline, worker side, for the OCR pipeline itself and the pipelines that embed it
 * (seal recognition's SealOCR): per image, doc preprocessing (orientation) → text detection → crops
 * → text-line orientation → recognition → PaddleX's OCRResult `prunedResult`, and the visualisations.
 * `text_type: seal` detects polygons with a seal_text_detection model and crops them as curved text.
 */
import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import type { RgbImage } from '../../io/image.js';
import { loadModel, loadOptionalModel } from '../../models/registry.js';
import type { RequestedTextDetParams } from '../../models/textDetection.js';
import { loadCv } from '../../ops/cv.js';
import { cropMinAreaRects, rotateImageLikePaddleX } from '../../ops/quad.js';
import { wordBoxes } from '../../ops/wordBoxes.js';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { RuntimeContext } from '../../runtime/context.js';
import { cropCurvedText } from '../../ops/polyCrop.js';
import { drawDocPreprocessing, loadDocPreprocessor } from './docPreprocessingWorker.js';
import { encodeOutputImage, searchablePage } from './documentWorker.js';
import { drawOcrResult } from './drawOcr.js';
import { DOC_PREPROCESSOR, type OcrPage, type OcrSettings } from './ocrSettings.js';

/** PaddleX's convert_points_to_boxes: axis-aligned [x1, y1, x2, y2] of each polygon. */
function polysToBoxes(polys: Array<[number, number][]>): Array<[number, number, number, number]> {
  return polys.map((poly) => {
    const xs = poly.map((p) => p[0]);
    const ys = poly.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  });
}

/** An OCR pipeline's page function, and its recognition model on its own for crops (layout parsing reads blocks again with it). */
export type OcrEngine = ((input: RgbImage, s: OcrSettings) => Promise<OcrPage>) & {
  recognize(crops: RgbImage[]): Promise<Array<{ text: string; score: number }>>;
};

/**
 * Loads the models of an OCR pipeline config (`keyPrefix`: where it sits in the YAML, e.g.
 * `SubPipelines.SealOCR`) and returns its page function.
 */
export async function createOcrEngine(config: PipelineConfig, rt: RuntimeContext, keyPrefix = ''): Promise<OcrEngine> {
  const cv = await loadCv();
  const prefixed = (key: string) => (keyPrefix ? `${keyPrefix}.${key}` : key);
  const textType = readParam(config, 'text_type', z.enum(['general', 'seal']), prefixed('(top level)'), 'general');
  const detector = await loadModel(config, 'TextDetection', textType === 'seal' ? 'seal_text_detection' : 'text_detection', rt, keyPrefix);
  const recognizer = await loadModel(config, 'TextRecognition', 'text_recognition', rt, keyPrefix);
  const textline = await loadOptionalModel(config, 'TextLineOrientation', 'textline_orientation', rt, keyPrefix);
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.[DOC_PREPROCESSOR], rt, prefixed(`SubPipelines.${DOC_PREPROCESSOR}`));

  async function ocrPage(input: RgbImage, s: OcrSettings): Promise<OcrPage> {
    const docPreprocessed = s.useDocPreprocessor ? await preprocess(input, s.docSteps) : undefined;
    const image = docPreprocessed?.output ?? input;

    // PaddleX reports the parameters as requested, and its model runs with zeros replaced by defaults.
    const detParams: RequestedTextDetParams = { ...detector.defaults, ...s.textDet };
    const { polys } = await detector.predict(image, detector.effectiveParams(detParams));
    // PaddleX's CropByPolys: quad boxes crop the min-area rectangle of each quad's integer points,
    // seal polygons are straightened as curved text.
    let crops = textType === 'seal' ? polys.map((poly) => cropCurvedText(cv, image, poly)) : cropMinAreaRects(cv, image, polys);
    let angles: number[] | undefined;
    if (polys.length) {
      if (s.useTextlineOrientation && textline) {
        const orientations = await textline.predict(crops);
        // PaddleX reports the class id: 0 = upright, 1 = upside down (then turned before recognition)
        const classIds = orientations.map((o) => (o.angle === 180 ? 1 : 0));
        crops = crops.map((crop, i) => (classIds[i] === 1 ? rotateImageLikePaddleX(cv, crop, 180) : crop));
        angles = classIds;
      } else {
        angles = polys.map(() => -1);
      }
    }
    const recognized = await recognizer.predict(crops);
    const kept = recognized.map((r, i) => ({ ...r, poly: polys[i]! })).filter((r) => r.score >= s.textRecScoreThresh);
    const recPolys = kept.map((r) => r.poly);

    // Key order as PaddleX serialises OCRResult.
    const prunedResult: OcrPage['prunedResult'] = {
      model_settings: { use_doc_preprocessor: s.useDocPreprocessor, use_textline_orientation: s.useTextlineOrientation },
      ...(docPreprocessed ? { doc_preprocessor_res: docPreprocessed.result } : {}),
      dt_polys: polys,
      text_det_params: {
        limit_side_len: detParams.limitSideLen,
        limit_type: detParams.limitType,
        thresh: detParams.thresh,
        max_side_limit: detParams.maxSideLimit,
        box_thresh: detParams.boxThresh,
        unclip_ratio: detParams.unclipRatio,
      },
      text_type: textType,
      // PaddleX sets this key only when the page has text boxes
      ...(angles ? { textline_orientation_angles: angles } : {}),
      text_rec_score_thresh: s.textRecScoreThresh,
      return_word_box: s.returnWordBox,
      rec_texts: kept.map((r) => r.text),
      rec_scores: kept.map((r) => r.score),
      rec_polys: recPolys,
      rec_boxes: polysToBoxes(recPolys),
    };
    if (s.returnWordBox) {
      const lines = kept.map((r) => wordBoxes(r.text, r.poly, r));
      prunedResult.text_word = lines.map((line) => line.words);
      prunedResult.text_word_boxes = lines.map((line) => polysToBoxes(line.boxes));
    }

    const images: OcrPage['images'] = {};
    if (s.visualize) {
      images.ocrImage = await drawOcrResult(
        image,
        recPolys,
        kept.map((r) => r.text),
        s.maxOutputImgSize,
      );
      if (docPreprocessed) images.docPreprocessingImage = await drawDocPreprocessing(input, docPreprocessed, s.maxOutputImgSize);
      images.inputImage = await encodeOutputImage(input, s.maxOutputImgSize);
    }
    const searchable = s.searchablePdf ? await searchablePage(image, prunedResult.rec_texts, prunedResult.rec_boxes) : undefined;
    return { prunedResult, images, ...(searchable ? { searchable } : {}), width: input.width, height: input.height };
  }

  return Object.assign(ocrPage, { recognize: (crops: RgbImage[]) => recognizer.predict(crops) });
}
