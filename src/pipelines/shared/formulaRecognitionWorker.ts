/**
 * Formula recognition of crops, worker side, for every pipeline that reads formulas
 * (formula_recognition, and layout parsing per formula block).
 */
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { RgbImage } from '../../io/image.js';
import { loadModel } from '../../models/registry.js';
import type { RuntimeContext } from '../../runtime/context.js';
import { encodeOutputImage } from './documentWorker.js';
import { drawFormulaResult } from './drawFormula.js';

/** The sub-module role PaddleX's pipelines give the formula model. */
export const FORMULA_RECOGNITION = 'FormulaRecognition';

/**
 * Recognises formulas. Input: crops, each one formula (RGB, any size; a crop the layout model cut
 * from the page, or a whole image). Output: one LaTeX string per crop, in order, as PaddleX's
 * `rec_formula` (tokenizer-decoded and normalised by the model's post-process; '' when the model
 * emits nothing). Rejects when the model's run fails or exceeds its per-formula time cap.
 */
export type RecognizeFormulas = (crops: RgbImage[]) => Promise<string[]>;

/**
 * Loads `SubModules.FormulaRecognition` of `config` (`keyPrefix`: where that config sits in the YAML,
 * e.g. `SubPipelines.FormulaRecognition`) and returns its RecognizeFormulas.
 */
export async function loadFormulaRecognition(config: PipelineConfig, rt: RuntimeContext, keyPrefix = ''): Promise<RecognizeFormulas> {
  const model = await loadModel(config, FORMULA_RECOGNITION, 'formula_recognition', rt, keyPrefix);
  return (crops) => (crops.length ? model.predict(crops) : Promise.resolve([]));
}

/**
 * Layout parsing v1's `formula_res_region{N}` images: each formula model result's own image (its
 * crop beside the typeset LaTeX), keyed as PaddleX's LayoutParsingResult names them.
 */
export async function formulaRegionImages(
  crops: readonly RgbImage[],
  latex: readonly string[],
  maxOutputImgSize: readonly [number, number],
): Promise<Array<[string, Uint8Array]>> {
  const images: Array<[string, Uint8Array]> = [];
  for (const [i, crop] of crops.entries()) {
    const drawn = await drawFormulaResult(crop, { formula: latex[i]! });
    images.push([`formula_res_region${i + 1}`, await encodeOutputImage(drawn, maxOutputImgSize)]);
  }
  return images;
}
