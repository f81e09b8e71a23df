/**
 * PaddleX's doc_preprocessor, worker side: turn the page upright by its classified orientation,
 * then unwarp it, and draw PaddleX's `preprocessed_img` (input, rotated and unwarped pages side by side).
 */
import { createCanvas } from '@napi-rs/canvas';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { RgbImage } from '../../io/image.js';
import { loadOptionalModel } from '../../models/registry.js';
import { rotateImage } from '../../ops/quad.js';
import type { RuntimeContext } from '../../runtime/context.js';
import { canvasToJpeg, imageToCanvas, textWidthAt } from '../../vis/draw.js';
import { visFont } from '../../vis/fonts.js';
import {
  DOC_ORIENTATION,
  DOC_UNWARPING,
  type DocPreprocessingResult,
  type DocPreprocessingSteps,
  type NestedDocPreprocessing,
} from './docPreprocessing.js';
import { DOCUMENT_JPEG_QUALITY } from './documentWorker.js';

export interface DocPreprocessed {
  /** PaddleX's JSON result: the steps and the classified angle (-1 when not classified) */
  result: DocPreprocessingResult;
  /** the page turned upright (the input when orientation was not classified) */
  rotated: RgbImage;
  /** the page the next stage reads: `rotated`, unwarped when asked */
  output: RgbImage;
}

export type DocPreprocessor = (page: RgbImage, steps: DocPreprocessingSteps) => Promise<DocPreprocessed>;

/** Loads the models `config` (a doc_preprocessor config, active parts only) holds; `keyPrefix` names where it sits. */
export async function loadDocPreprocessor(
  config: PipelineConfig | undefined,
  rt: RuntimeContext,
  keyPrefix: string,
): Promise<DocPreprocessor> {
  const orientation = await loadOptionalModel(config, DOC_ORIENTATION, 'doc_text_orientation', rt, keyPrefix);
  const unwarper = await loadOptionalModel(config, DOC_UNWARPING, 'image_unwarping', rt, keyPrefix);
  return async (page, steps) => {
    let angle = -1;
    let rotated = page;
    if (steps.useDocOrientationClassify) {
      if (!orientation) throw new Error('document orientation was requested but its model is not loaded');
      angle = (await orientation.predict(page)).angle;
      // PaddleX: scipy.ndimage.rotate(page, angle, reshape=True), i.e. counter-clockwise by angle
      if (angle !== 0) rotated = rotateImage(page, angle as 90 | 180 | 270);
    }
    let output = rotated;
    if (steps.useDocUnwarping) {
      if (!unwarper) throw new Error('document unwarping was requested but its model is not loaded');
      output = await unwarper.predict(rotated);
    }
    const result = {
      model_settings: { use_doc_orientation_classify: steps.useDocOrientationClassify, use_doc_unwarping: steps.useDocUnwarping },
      angle,
    };
    return { result, rotated, output };
  };
}

/** Height of the caption strip under the pages (PaddleX: 25 px, text box 20 px high). */
const CAPTION_STRIP = 25;
const CAPTION_BOX_HEIGHT = 20;

/**
 * PaddleX's DocPreprocessorResult image: the input, rotated and unwarped pages side by side on
 * white, each captioned below ("Rotated Image (True, 180)", Python's spelling of the flags), then
 * shrunk to fit `maxSize` = [maxHeight, maxWidth] as the serving apps do, as JPEG.
 */
export async function drawDocPreprocessing(
  input: RgbImage,
  { result, rotated, output }: DocPreprocessed,
  [maxHeight, maxWidth]: readonly [number, number],
): Promise<Uint8Array> {
  const pages = [input, rotated, output];
  const python = (flag: boolean) => (flag ? 'True' : 'False');
  const captions = [
    'Original Image',
    `Rotated Image (${python(result.model_settings.use_doc_orientation_classify)}, ${result.angle})`,
    `Unwarping Image (${python(result.model_settings.use_doc_unwarping)})`,
  ];
  const fullWidth = pages.reduce((sum, p) => sum + p.width, 0);
  const fullHeight = Math.max(...pages.map((p) => p.height)) + CAPTION_STRIP;
  // Drawn straight at the output size rather than full size and resized afterwards.
  const scale = Math.min(1, maxHeight / fullHeight, maxWidth / fullWidth);
  const canvas = createCanvas(Math.max(1, Math.round(fullWidth * scale)), Math.max(1, Math.round(fullHeight * scale)));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  let left = 0;
  pages.forEach((page, i) => {
    ctx.drawImage(imageToCanvas(page), left, 0, page.width, page.height);
    // PaddleX's create_font: the largest size (from 19 px) whose text fits the page's width
    let fontPx = CAPTION_BOX_HEIGHT - 1;
    while (fontPx > 1 && textWidthAt(ctx, captions[i]!, fontPx) > page.width) fontPx--;
    ctx.font = visFont(fontPx);
    ctx.fillStyle = 'black';
    ctx.textBaseline = 'top';
    ctx.fillText(captions[i]!, left + 10, fullHeight - CAPTION_STRIP + 2);
    left += page.width;
  });
  return canvasToJpeg(canvas, DOCUMENT_JPEG_QUALITY);
}

/** What a pipeline's own doc preprocessing stage gives the rest of it. */
export interface DocPreprocessingStage {
  /** the page the pipeline reads: preprocessed when the stage ran, else the input */
  image: RgbImage;
  /** PaddleX's `doc_preprocessor_res`, when the stage ran */
  result?: DocPreprocessingResult;
  /** PaddleX's `preprocessed_img`, when the stage ran and visualisation is on */
  drawing?: Uint8Array;
}

/** Runs the nested doc preprocessor of a pipeline (seal and formula recognition) on one page, as its settings say. */
export async function runDocPreprocessingStage(
  preprocess: DocPreprocessor,
  page: RgbImage,
  s: NestedDocPreprocessing & { visualize: boolean; maxOutputImgSize: readonly [number, number] },
): Promise<DocPreprocessingStage> {
  if (!s.useDocPreprocessor) return { image: page };
  const done = await preprocess(page, s.docSteps);
  return {
    image: done.output,
    result: done.result,
    ...(s.visualize ? { drawing: await drawDocPreprocessing(page, done, s.maxOutputImgSize) } : {}),
  };
}
