/**
 * PaddleX's OCR pipeline and its `/ocr` endpoint.
 *
 * HTTP thread: validate the request, work out which sub-models it needs, fetch/decode the input
 * string, fan PDF pages out over the workers, assemble `ocrResults` + `dataInfo`.
 * Worker thread: per image or page, doc preprocessing (orientation) → text detection → crops →
 * text-line orientation → recognition → PaddleX's `prunedResult`, and the visualisations.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { readParam } from '../config/pipelineConfig.js';
import { ConfigError, invalidInput } from '../errors.js';
import { decodeImage, encodeJpeg } from '../io/codec.js';
import { resolveFileType } from '../io/fileType.js';
import type { RgbImage } from '../io/image.js';
import { openPdf, type PdfDocument } from '../io/pdf.js';
import { DocOrientationClassifier } from '../modules/docOrientation.js';
import { TextDetector, type TextDetParams } from '../modules/textDetection.js';
import { TextlineOrientationClassifier } from '../modules/textlineOrientation.js';
import { TextRecognizer } from '../modules/textRecognition.js';
import { loadCv } from '../ops/cv.js';
import { cropMinAreaRect, rotateImage } from '../ops/quad.js';
import { fitWithin } from '../ops/resize.js';
import { drawOcrResult } from '../vis/ocr.js';
import { mapConcurrent, optional, optionalSubModule, requireSubModule, toBase64, transferable, wantsVisualization } from './common.js';
import type { EndpointContext, PipelineDefinition, PipelineInstance, RuntimeContext } from './types.js';

const unitInterval = z.number().min(0).max(1);

const ocrRequest = z.object({
  file: z.string(),
  // one literal schema (not a union) so a bad value reports pydantic's literal_error "Input should be 0 or 1"
  fileType: optional(z.literal([0, 1])),
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useTextlineOrientation: optional(z.boolean()),
  textDetLimitSideLen: optional(z.number().int().positive()),
  textDetLimitType: optional(z.enum(['min', 'max'])),
  textDetThresh: optional(unitInterval),
  textDetBoxThresh: optional(unitInterval),
  textDetUnclipRatio: optional(z.number().positive()),
  textRecScoreThresh: optional(unitInterval),
  visualize: optional(z.boolean()),
});
type OcrRequest = z.infer<typeof ocrRequest>;

/** Settings of one request, resolved from request → YAML → model defaults. Sent to the workers. */
interface OcrSettings {
  useDocPreprocessor: boolean;
  useDocOrientationClassify: boolean;
  useDocUnwarping: boolean;
  useTextlineOrientation: boolean;
  /** request overrides only; the worker fills the rest from the detector's YAML/model defaults */
  textDet: Partial<TextDetParams>;
  textRecScoreThresh: number;
  visualize: boolean;
  /** [height, width] of Serving.extra.max_output_img_size */
  maxOutputImgSize: [number, number];
}

interface PageResult {
  prunedResult: Record<string, unknown>;
  images: { ocrImage?: Uint8Array; docPreprocessingImage?: Uint8Array; inputImage?: Uint8Array };
  width: number;
  height: number;
}

/** A request may not make the server render more PDF pages than this, whatever the YAML says. */
const PDF_PAGE_HARD_LIMIT = 1000;

const DOC_PREPROCESSOR = 'DocPreprocessor';
const DOC_ORIENTATION = 'DocOrientationClassify';

function docPreprocessorConfig(config: PipelineConfig): PipelineConfig | undefined {
  return config.SubPipelines?.[DOC_PREPROCESSOR];
}

/** PaddleX's get_model_settings: either doc flag true ⇒ on, any given but none true ⇒ off, none given ⇒ YAML. */
function resolveSettings(req: OcrRequest, ctx: EndpointContext): OcrSettings {
  const { config } = ctx;
  const doc = docPreprocessorConfig(config);
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? Boolean(config.use_doc_preprocessor)
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  const useDocOrientationClassify = useDocPreprocessor && (req.useDocOrientationClassify ?? Boolean(doc?.use_doc_orientation_classify));
  const useDocUnwarping = useDocPreprocessor && (req.useDocUnwarping ?? Boolean(doc?.use_doc_unwarping));
  const useTextlineOrientation = req.useTextlineOrientation ?? Boolean(config.use_textline_orientation);

  // The active config holds only the sub-models that were loaded (see activeConfig below).
  if (useDocOrientationClassify && !doc?.SubModules?.[DOC_ORIENTATION]) {
    throw invalidInput(
      'the input params for model settings are invalid! Document orientation classification was requested, but this server ' +
        `has no doc orientation model loaded (SubPipelines.${DOC_PREPROCESSOR}.SubModules.${DOC_ORIENTATION}, e.g. PP-LCNet_x1_0_doc_ori). ` +
        'Set use_doc_preprocessor: True in the pipeline YAML and provide the model dir.',
    );
  }
  if (useDocUnwarping) {
    throw invalidInput('the input params for model settings are invalid! Document unwarping (UVDoc) is not available in this server yet.');
  }
  if (useTextlineOrientation && !config.SubModules?.TextLineOrientation) {
    throw invalidInput(
      'the input params for model settings are invalid! Text-line orientation was requested, but this server has no ' +
        'text-line orientation model loaded (SubModules.TextLineOrientation; set use_textline_orientation: True in the pipeline YAML).',
    );
  }

  const textDet: Partial<TextDetParams> = {};
  if (req.textDetLimitSideLen != null) textDet.limitSideLen = req.textDetLimitSideLen;
  if (req.textDetLimitType != null) textDet.limitType = req.textDetLimitType;
  if (req.textDetThresh != null) textDet.thresh = req.textDetThresh;
  if (req.textDetBoxThresh != null) textDet.boxThresh = req.textDetBoxThresh;
  if (req.textDetUnclipRatio != null) textDet.unclipRatio = req.textDetUnclipRatio;

  const recConfig = config.SubModules?.TextRecognition ?? {};
  const maxOutput = ctx.serving.extra.max_output_img_size;
  return {
    useDocPreprocessor,
    useDocOrientationClassify,
    useDocUnwarping,
    useTextlineOrientation,
    textDet,
    textRecScoreThresh: req.textRecScoreThresh ?? readParam(recConfig, 'score_thresh', z.number(), 'SubModules.TextRecognition', 0),
    visualize: wantsVisualization(req.visualize, ctx),
    maxOutputImgSize: Array.isArray(maxOutput) && maxOutput.length === 2 ? (maxOutput as [number, number]) : [2000, 2000],
  };
}

/** Serving.extra.max_num_input_imgs: default 10, null = all pages. */
function maxPdfPages(ctx: EndpointContext): number | null {
  const value = ctx.serving.extra.max_num_input_imgs;
  if (value === null) return null;
  return typeof value === 'number' && value > 0 ? value : 10;
}

function toOcrResult(page: PageResult): Record<string, unknown> {
  const out: Record<string, unknown> = { prunedResult: page.prunedResult };
  for (const key of ['ocrImage', 'docPreprocessingImage', 'inputImage'] as const) {
    const bytes = page.images[key];
    if (bytes) out[key] = toBase64(bytes);
  }
  return out;
}

async function handleOcr(req: OcrRequest, ctx: EndpointContext): Promise<Record<string, unknown>> {
  const settings = resolveSettings(req, ctx);
  const fileType = resolveFileType(req.file, req.fileType);
  const { bytes, transfer } = transferable(await ctx.loadInput(req.file, 'file'));

  if (fileType === 'image') {
    const page = await ctx.runTask<PageResult>('predictImage', { image: bytes, settings }, transfer);
    return { ocrResults: [toOcrResult(page)], dataInfo: { width: page.width, height: page.height, type: 'image' } };
  }

  const { numPages } = await ctx.runTask<{ numPages: number }>('countPdfPages', { pdf: bytes });
  const pageCount = Math.min(numPages, maxPdfPages(ctx) ?? numPages);
  if (pageCount > PDF_PAGE_HARD_LIMIT) {
    throw invalidInput(
      `file: the PDF has ${numPages} pages; this server processes at most ${PDF_PAGE_HARD_LIMIT} pages of one request ` +
        `(set Serving.extra.max_num_input_imgs to at most ${PDF_PAGE_HARD_LIMIT} to process only the first pages)`,
    );
  }
  // Pages run on all workers at once; each task gets its own copy of the (usually small) PDF bytes.
  const pages = await mapConcurrent(Array.from({ length: pageCount }, (_, i) => i), ctx.workers, (page) =>
    ctx.runTask<PageResult>('predictPdfPage', { pdf: bytes, page, settings }, [], { continuation: true }),
  );
  return {
    ocrResults: pages.map(toOcrResult),
    dataInfo: { numPages: pages.length, pages: pages.map((p) => ({ width: p.width, height: p.height })), type: 'pdf' },
  };
}

// ---------------------------------------------------------------- worker side

/** PaddleX's convert_points_to_boxes: axis-aligned [x1, y1, x2, y2] of each polygon. */
function polysToBoxes(polys: Array<[number, number][]>): number[][] {
  return polys.map((poly) => {
    const xs = poly.map((p) => p[0]);
    const ys = poly.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  });
}

async function createOcr(config: PipelineConfig, rt: RuntimeContext): Promise<PipelineInstance> {
  const cv = await loadCv();
  const detector = await TextDetector.load(requireSubModule(config, 'TextDetection'), rt, 'SubModules.TextDetection');
  const recognizer = await TextRecognizer.load(requireSubModule(config, 'TextRecognition'), rt, 'SubModules.TextRecognition');
  const textlineSub = optionalSubModule(config, 'TextLineOrientation');
  const textline = textlineSub ? await TextlineOrientationClassifier.load(textlineSub, rt, 'SubModules.TextLineOrientation') : undefined;
  const docOriSub = optionalSubModule(docPreprocessorConfig(config), DOC_ORIENTATION);
  const docOrientation = docOriSub
    ? await DocOrientationClassifier.load(docOriSub, rt, `SubPipelines.${DOC_PREPROCESSOR}.SubModules.${DOC_ORIENTATION}`)
    : undefined;
  const textType = readParam(config, 'text_type', z.enum(['general']), '(top level)', 'general');

  async function ocrPage(input: RgbImage, s: OcrSettings): Promise<PageResult> {
    let image = input;
    let docPreprocessorRes: Record<string, unknown> | undefined;
    if (s.useDocPreprocessor) {
      let angle = -1;
      if (s.useDocOrientationClassify && docOrientation) {
        angle = (await docOrientation.predict(image)).angle;
        // PaddleX turns the page back by the predicted angle (cv2 angles: counter-clockwise)
        if (angle !== 0) image = rotateImage(image, angle as 90 | 180 | 270);
      }
      docPreprocessorRes = {
        model_settings: { use_doc_orientation_classify: s.useDocOrientationClassify, use_doc_unwarping: s.useDocUnwarping },
        angle,
      };
    }

    const detParams: TextDetParams = { ...detector.defaults, ...s.textDet };
    const { polys } = await detector.predict(image, detParams);
    // PaddleX's CropByPolys (quad boxes) crops the min-area rectangle of each quad's integer points.
    let crops = polys.map((quad) => cropMinAreaRect(cv, image, quad));
    let angles: number[] | undefined;
    if (polys.length) {
      if (s.useTextlineOrientation && textline) {
        const orientations = await textline.predict(crops);
        // PaddleX reports the class id: 0 = upright, 1 = upside down (then turned before recognition)
        angles = orientations.map((o) => (o.angle === 180 ? 1 : 0));
        crops = crops.map((crop, i) => (angles![i] === 1 ? rotateImage(crop, 180) : crop));
      } else {
        angles = polys.map(() => -1);
      }
    }
    const recognized = await recognizer.predict(crops);
    const kept = recognized.map((r, i) => ({ ...r, poly: polys[i]! })).filter((r) => r.score >= s.textRecScoreThresh);
    const recPolys = kept.map((r) => r.poly);

    // Key order as PaddleX serialises OCRResult.
    const prunedResult: Record<string, unknown> = {
      model_settings: { use_doc_preprocessor: s.useDocPreprocessor, use_textline_orientation: s.useTextlineOrientation },
      ...(docPreprocessorRes ? { doc_preprocessor_res: docPreprocessorRes } : {}),
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
      return_word_box: false,
      rec_texts: kept.map((r) => r.text),
      rec_scores: kept.map((r) => r.score),
      rec_polys: recPolys,
      rec_boxes: polysToBoxes(recPolys),
    };

    const images: PageResult['images'] = {};
    if (s.visualize) {
      const [maxH, maxW] = s.maxOutputImgSize;
      const encodeFitted = async (img: RgbImage) => encodeJpeg(await fitWithin(img, maxW, maxH), 95);
      images.ocrImage = await drawOcrResult(image, recPolys, kept.map((r) => r.text), s.maxOutputImgSize);
      if (s.useDocPreprocessor) images.docPreprocessingImage = await encodeFitted(image);
      images.inputImage = await encodeFitted(input);
    }
    return { prunedResult, images, width: input.width, height: input.height };
  }

  async function withPdf<T>(pdf: Uint8Array, use: (doc: PdfDocument) => Promise<T>): Promise<T> {
    const doc = await openPdf(pdf, 'file');
    try {
      return await use(doc);
    } finally {
      await doc.close();
    }
  }

  return {
    ops: {
      predictImage: async ({ image, settings }: { image: Uint8Array; settings: OcrSettings }) =>
        ocrPage(await decodeImage(image, 'file'), settings),
      countPdfPages: async ({ pdf }: { pdf: Uint8Array }) => withPdf(pdf, async (doc) => ({ numPages: doc.numPages })),
      predictPdfPage: async ({ pdf, page, settings }: { pdf: Uint8Array; page: number; settings: OcrSettings }) =>
        withPdf(pdf, async (doc) => ocrPage(await doc.renderPage(page, { scale: 2 }), settings)),
    },
  };
}

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
function activeOcrConfig(config: PipelineConfig): PipelineConfig {
  const SubModules = { ...config.SubModules };
  if (!config.use_textline_orientation) delete SubModules.TextLineOrientation;
  const SubPipelines = { ...config.SubPipelines };
  const doc = SubPipelines[DOC_PREPROCESSOR];
  if (!config.use_doc_preprocessor || !doc) {
    delete SubPipelines[DOC_PREPROCESSOR];
  } else {
    if (doc.use_doc_unwarping) {
      throw new ConfigError(
        `SubPipelines.${DOC_PREPROCESSOR}.use_doc_unwarping: document unwarping (UVDoc) is not available in this server yet; set it to False`,
      );
    }
    const docModules = { ...doc.SubModules };
    if (!doc.use_doc_orientation_classify) delete docModules[DOC_ORIENTATION];
    SubPipelines[DOC_PREPROCESSOR] = { ...doc, SubModules: docModules };
  }
  return { ...config, SubModules, SubPipelines };
}

export const ocrPipeline: PipelineDefinition = {
  pipelineName: 'OCR',
  activeConfig: activeOcrConfig,
  create: createOcr,
  endpoints: [
    {
      path: '/ocr',
      operationId: 'infer',
      summary: 'OCR of an image or a PDF (PaddleX OCR pipeline)',
      request: ocrRequest,
      inputField: 'file',
      handle: (req: OcrRequest, ctx: EndpointContext) => handleOcr(req, ctx),
    },
  ],
};
