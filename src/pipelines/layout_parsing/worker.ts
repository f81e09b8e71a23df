/**
 * Layout parsing, worker side (PaddleX's layout_parsing v1 and PP-StructureV3 pipelines): doc
 * preprocessing → layout (and region) detection → OCR of the page → each block's specialised
 * recogniser → blocks with their text, in reading order → Markdown (PP-StructureV3).
 */
import type { RgbImage } from '../../io/image.js';
import { encodeJpeg } from '../../io/codec.js';
import type { DetectedObject } from '../../models/objectDetection.js';
import { loadModel, loadOptionalModel } from '../../models/registry.js';
import { loadCv } from '../../ops/cv.js';
import { cropImage } from '../../ops/resize.js';
import { defineWorker } from '../define.js';
import { drawDocPreprocessing, loadDocPreprocessor } from '../shared/docPreprocessingWorker.js';
import { DOCUMENT_JPEG_QUALITY, documentOps, encodeOutputImage, searchablePage } from '../shared/documentWorker.js';
import { drawDetections } from '../shared/drawDetections.js';
import { createOcrEngine, type OcrEngine } from '../shared/ocrEngine.js';
import type { OcrPage } from '../shared/ocrSettings.js';
import type { Box, CropRecognizer } from './blocks.js';
import { drawLayoutOrder, type OrderedBlock } from './draw.js';
import { assignTitleLevels } from './titleLevel.js';
import { formatBlockContent, pageMarkdown } from './markdown.js';
import { type LayoutBox, ocrIndexesIn, type OverallOcr, parseBlocks, parseBlocksV1, standardize } from './parsing.js';
import {
  GENERAL_OCR,
  LAYOUT_DETECTION,
  type LayoutParsingPage,
  type LayoutParsingSettings,
  REGION_DETECTION,
  SEAL_OCR,
  SEAL_RECOGNITION,
} from './settings.js';

const toLayoutBoxes = (boxes: DetectedObject[]): LayoutBox[] =>
  boxes.map((b) => ({ cls_id: b.clsId, label: b.label, score: b.score, coordinate: [...b.coordinate] as Box }));

/** PaddleX's crop `image[int(y1):int(y2), int(x1):int(x2)]`. */
function cropBox(page: RgbImage, box: readonly number[]): RgbImage {
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v)) as Box;
  return cropImage(page, x1, y1, x2 - x1, y2 - y1);
}

/** The page white everywhere but inside `box` (PaddleX's v1 re-reads a shared line on such a page). */
function keepOnly(page: RgbImage, box: readonly number[]): RgbImage {
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v)) as Box;
  const data = new Uint8Array(page.data.length).fill(255);
  for (let y = Math.max(0, y1); y < Math.min(page.height, y2); y++) {
    const from = (y * page.width + Math.max(0, x1)) * 3;
    const to = (y * page.width + Math.min(page.width, x2)) * 3;
    if (to > from) data.set(page.data.subarray(from, to), from);
  }
  return { width: page.width, height: page.height, data };
}

/**
 * A recogniser for the blocks of one label (PaddleX runs a sub-pipeline over the page's boxes of
 * that label): it returns, per box in layout order, the pipeline's JSON result and the block content.
 * Seal recognition is here; table and formula recognisers plug in the same way (see pipeline.ts).
 */
interface BlockRecognizer {
  recognize(
    page: RgbImage,
    boxes: LayoutBox[],
    s: LayoutParsingSettings,
  ): Promise<{ results: OcrPage['prunedResult'][]; contents: string[][]; images: Uint8Array[] }>;
}

function sealRecognizer(engine: OcrEngine): BlockRecognizer {
  return {
    async recognize(page, boxes, s) {
      const out: Awaited<ReturnType<BlockRecognizer['recognize']>> = { results: [], contents: [], images: [] };
      // PaddleX's seal_recognition with the layout's boxes: the `seal` ones, cropped
      for (const box of boxes.filter((b) => b.label.toLowerCase() === 'seal')) {
        const result = await engine(cropBox(page, box.coordinate), s.seal);
        out.results.push(result.prunedResult);
        out.contents.push(result.prunedResult.rec_texts);
        if (result.images.ocrImage) out.images.push(result.images.ocrImage);
      }
      return out;
    },
  };
}

/** The OCR lines block by block in reading order (each block's top to bottom), then the lines outside every block. */
function linesInReadingOrder(ocr: OverallOcr, blockBoxes: ReadonlyArray<readonly number[]>): number[] {
  const used = new Set<number>();
  const order: number[] = [];
  for (const box of blockBoxes) {
    const inside = ocrIndexesIn(ocr, [box]).filter((i) => !used.has(i));
    inside.sort((a, b) => ocr.rec_boxes[a]![1]! - ocr.rec_boxes[b]![1]! || ocr.rec_boxes[a]![0]! - ocr.rec_boxes[b]![0]!);
    for (const i of inside) used.add(i);
    order.push(...inside);
  }
  order.push(...ocr.rec_texts.map((_, i) => i).filter((i) => !used.has(i)));
  return order.filter((i) => ocr.rec_texts[i] !== '');
}

function toOverallOcr(result: OcrPage['prunedResult']): OverallOcr {
  return {
    dt_polys: result.dt_polys as OverallOcr['dt_polys'],
    rec_texts: result.rec_texts,
    rec_scores: result.rec_scores,
    rec_polys: result.rec_polys as OverallOcr['rec_polys'],
    rec_boxes: result.rec_boxes,
    rec_labels: result.rec_texts.map(() => 'text'),
  };
}

const worker = defineWorker(async (config, rt) => {
  const layout = await loadModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const regionDetector = await loadOptionalModel(config, REGION_DETECTION, 'layout_detection', rt);
  const generalOcr = await createOcrEngine(config.SubPipelines![GENERAL_OCR]!, rt, `SubPipelines.${GENERAL_OCR}`);
  const sealConfig = config.SubPipelines?.[SEAL_RECOGNITION]?.SubPipelines?.[SEAL_OCR];
  const seal = sealConfig
    ? sealRecognizer(await createOcrEngine(sealConfig, rt, `SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR}`))
    : undefined;
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.DocPreprocessor, rt, 'SubPipelines.DocPreprocessor');

  async function predictPage(input: RgbImage, s: LayoutParsingSettings): Promise<LayoutParsingPage> {
    const outputImages: LayoutParsingPage['outputImages'] = {};
    const docPreprocessed = s.useDocPreprocessor ? await preprocess(input, s.docSteps) : undefined;
    const page = docPreprocessed?.output ?? input;
    const [detected] = await layout.predict([page], s.layout);
    const layoutBoxes = toLayoutBoxes(detected!);
    const regionBoxes =
      s.useRegionDetection && regionDetector
        ? toLayoutBoxes((await regionDetector.predict([page], { layoutNms: true, layoutMergeBboxesMode: 'small' }))[0]!)
        : [];
    const ocrPage = await generalOcr(page, s.ocr);
    const overallOcr = ocrPage.prunedResult;
    const ocr = toOverallOcr(overallOcr);
    const sealRes = s.useSealRecognition && seal ? await seal.recognize(page, layoutBoxes, s) : undefined;

    const common = {
      ...(docPreprocessed ? { doc_preprocessor_res: docPreprocessed.result } : {}),
      layout_det_res: { boxes: layoutBoxes },
      overall_ocr_res: overallOcr,
      ...(sealRes?.results.length ? { seal_res_list: sealRes.results } : {}),
    };

    let prunedResult: LayoutParsingPage['prunedResult'];
    let markdown: LayoutParsingPage['markdown'];
    let blockBoxes: Array<readonly number[]>;
    let orderedBlocks: OrderedBlock[] | undefined;
    if (s.variant === 'v1') {
      const parsing = await parseBlocksV1(
        page,
        layoutBoxes,
        ocr,
        { table: [], seal: sealRes?.contents ?? [], formula: [] },
        async (box) => (await generalOcr(keepOnly(page, box), { ...s.ocr, visualize: false })).prunedResult.rec_texts,
      );
      blockBoxes = parsing.map((b) => b.block_bbox);
      prunedResult = {
        model_settings: {
          use_doc_preprocessor: s.useDocPreprocessor,
          use_seal_recognition: s.useSealRecognition,
          use_table_recognition: s.useTableRecognition,
          use_formula_recognition: s.useFormulaRecognition,
        },
        parsing_res_list: parsing,
        ...common,
      };
    } else {
      const recognize: CropRecognizer = async (box) => {
        const crop = cropBox(page, box);
        if (!crop.width || !crop.height) return { text: '', score: 0 };
        const [read] = await generalOcr.recognize([crop]);
        return read!;
      };
      const std = await standardize(page, layoutBoxes, regionBoxes, ocr, recognize, s.textRecScoreThresh);
      const blocks = parseBlocks(std, ocr, { table: [], seal: sealRes?.contents ?? [], chart: [] }, s.markdownIgnoreLabels);
      blockBoxes = blocks.map((b) => b.bbox);
      orderedBlocks = blocks;
      if (s.relevelTitles) assignTitleLevels(await loadCv(), page, blocks);
      const md = pageMarkdown(blocks, s, page.width);
      const images: Record<string, Uint8Array> = {};
      if (s.returnMarkdownImages) {
        for (const [path, box] of md.images) images[path] = await encodeJpeg(cropBox(page, box), DOCUMENT_JPEG_QUALITY);
      }
      markdown = { text: md.text, images, isStart: md.isStart, isEnd: md.isEnd };
      prunedResult = {
        width: page.width,
        height: page.height,
        model_settings: {
          use_doc_preprocessor: s.useDocPreprocessor,
          use_seal_recognition: s.useSealRecognition,
          use_table_recognition: s.useTableRecognition,
          use_formula_recognition: s.useFormulaRecognition,
          use_chart_recognition: s.useChartRecognition,
          use_region_detection: s.useRegionDetection,
          format_block_content: s.formatBlockContent,
          markdown_ignore_labels: s.markdownIgnoreLabels,
        },
        parsing_res_list: blocks.map((b) => ({
          block_label: b.label,
          block_content: s.formatBlockContent ? formatBlockContent(b, s, page.width) : b.content,
          block_bbox: b.bbox,
          block_id: b.index,
          block_order: b.orderIndex,
        })),
        ...common,
      };
    }

    // in PaddleX's order (result.py / result_v2.py _to_img)
    if (s.visualize) {
      if (docPreprocessed) outputImages.preprocessed_img = await drawDocPreprocessing(input, docPreprocessed, s.maxOutputImgSize);
      outputImages.layout_det_res = await drawLayout(page, layoutBoxes);
      if (s.useRegionDetection && regionDetector) outputImages.region_det_res = await drawLayout(page, regionBoxes);
      if (ocrPage.images.ocrImage) outputImages.overall_ocr_res = ocrPage.images.ocrImage;
      sealRes?.images.forEach((img, i) => {
        outputImages[`seal_res_region${i + 1}`] = img;
      });
      if (orderedBlocks) outputImages.layout_order_res = await drawLayoutOrder(page, orderedBlocks, s.maxOutputImgSize);
    }
    let searchable: LayoutParsingPage['searchable'];
    if (s.searchablePdf) {
      const order = linesInReadingOrder(ocr, blockBoxes);
      searchable = await searchablePage(
        page,
        order.map((i) => ocr.rec_texts[i]!),
        order.map((i) => ocr.rec_boxes[i]!),
      );
    }
    return {
      prunedResult,
      ...(markdown ? { markdown } : {}),
      ...(searchable ? { searchable } : {}),
      outputImages,
      ...(s.visualize ? { inputImage: await encodeOutputImage(input, s.maxOutputImgSize) } : {}),
      width: page.width,
      height: page.height,
    };
  }

  return documentOps(predictPage);
});
export default worker;

function drawLayout(page: RgbImage, boxes: LayoutBox[]): Promise<Uint8Array> {
  return drawDetections(
    page,
    boxes.map((b) => ({ bbox: b.coordinate, categoryId: b.cls_id, categoryName: b.label, score: b.score })),
  );
}
