/**
 * Formula recognition, worker side (PaddleX's formula_recognition pipeline): doc preprocessing
 * (optional), then layout detection finds the `formula` regions and the formula model reads each
 * crop, or, without layout detection, the whole page is one formula.
 */
import type { RgbImage } from '../../io/image.js';
import { loadOptionalModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import { DOC_PREPROCESSOR } from '../shared/docPreprocessing.js';
import { loadDocPreprocessor, runDocPreprocessingStage } from '../shared/docPreprocessingWorker.js';
import { documentOps, encodeOutputImage, pageWithOutputImages } from '../shared/documentWorker.js';
import { loadFormulaRecognition } from '../shared/formulaRecognitionWorker.js';
import { LAYOUT_DETECTION } from '../shared/layoutRegions.js';
import { detectLayoutRegions } from '../shared/layoutRegionsWorker.js';
import { drawFormulaResult } from '../shared/drawFormula.js';
import type { FormulaPage, FormulaSettings } from './settings.js';

const worker = defineWorker(async (config, rt) => {
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.[DOC_PREPROCESSOR], rt, `SubPipelines.${DOC_PREPROCESSOR}`);
  const layout = await loadOptionalModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const recognize = await loadFormulaRecognition(config, rt);

  async function predictPage(input: RgbImage, s: FormulaSettings): Promise<FormulaPage> {
    const doc = await runDocPreprocessingStage(preprocess, input, s);
    const page = doc.image;
    const outputImages: FormulaPage['outputImages'] = {};
    if (doc.drawing) outputImages.preprocessed_img = doc.drawing;
    let prunedResult: FormulaPage['prunedResult'];
    let drawn: Parameters<typeof drawFormulaResult>[1];
    const model_settings = { use_doc_preprocessor: s.useDocPreprocessor, use_layout_detection: s.useLayoutDetection };
    const docRes = doc.result ? { doc_preprocessor_res: doc.result } : {};
    if (s.useLayoutDetection && layout) {
      const found = await detectLayoutRegions(layout, page, s.layout, 'formula', s.visualize);
      if (found.drawing) outputImages.layout_det_res = found.drawing;
      const formulas = await recognize(found.regions.map((r) => r.image));
      prunedResult = {
        model_settings,
        ...docRes,
        layout_det_res: found.layoutDetRes,
        formula_res_list: found.regions.map((r, i) => ({ rec_formula: formulas[i]!, formula_region_id: i + 1, dt_polys: [r.coordinate] })),
      };
      drawn = { formulas: found.regions.map((r, i) => ({ latex: formulas[i]!, box: r.coordinate })) };
    } else {
      const [formula] = await recognize([page]);
      prunedResult = { model_settings, ...docRes, formula_res_list: [{ rec_formula: formula!, formula_region_id: 1 }] };
      drawn = { formula: formula! };
    }
    if (s.visualize) {
      outputImages.formula_res_img = await encodeOutputImage(await drawFormulaResult(page, drawn), s.maxOutputImgSize);
    }
    return pageWithOutputImages(prunedResult, outputImages, input, s);
  }

  return documentOps(predictPage);
});
export default worker;
