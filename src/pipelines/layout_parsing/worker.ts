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
import { formulaRegionImages, loadFormulaRecognition } from '../shared/formulaRecognitionWorker.js';
import { createOcrEngine, type OcrEngine } from '../shared/ocrEngine.js';
import type { OcrPage } from '../shared/ocrSettings.js';
import type { OcrLines } from '../shared/tablePostprocess.js';
import { createLayoutTableRecognizer, drawTableCells } from '../shared/tableRecognitionWorker.js';
import { type Box, type CropRecognizer, inLabels } from './blocks.js';
import { drawLayoutOrder, type OrderedBlock } from './draw.js';
import { assignTitleLevels } from './titleLevel.js';
import { formatBlockContent, pageMarkdown } from './markdown.js';
import {
  blockImagePath,
  type LayoutBox,
  ocrIndexesIn,
  type OverallOcr,
  type PageFormula,
  parseBlocks,
  parseBlocksV1,
  standardize,
} from './parsing.js';
import {
  FORMULA_RECOGNITION,
  GENERAL_OCR,
  LAYOUT_DETECTION,
  type LayoutParsingPage,
  type LayoutParsingSettings,
  REGION_DETECTION,
  SEAL_OCR,
  SEAL_RECOGNITION,
  TABLE_RECOGNITION,
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

/** The page with each box painted white (PaddleX's PP-StructureV3 hides its formulas from the page OCR so). */
function whitened(page: RgbImage, boxes: ReadonlyArray<readonly number[]>): RgbImage {
  const data = new Uint8Array(page.data);
  for (const box of boxes) {
    const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v)) as Box;
    for (let y = Math.max(0, y1); y < Math.min(page.height, y2); y++) {
      const from = (y * page.width + Math.max(0, x1)) * 3;
      const to = (y * page.width + Math.min(page.width, x2)) * 3;
      if (to > from) data.fill(255, from, to);
    }
  }
  return { width: page.width, height: page.height, data };
}

function ocrLines(ocr: OverallOcr): OcrLines {
  return {
    rec_polys: ocr.rec_polys.map((p) => p.map(([x, y]) => [x, y] as [number, number])),
    rec_texts: [...ocr.rec_texts],
    rec_scores: [...ocr.rec_scores],
    rec_boxes: ocr.rec_boxes.map((b) => [...b]),
  };
}

/** One more line of a table's OCR input, a box with its text. */
function addLine(lines: OcrLines, box: readonly number[], text: string, score: number): void {
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v)) as Box;
  lines.rec_polys.push([
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ]);
  lines.rec_texts.push(text);
  lines.rec_scores.push(score);
  lines.rec_boxes.push([...box]);
}

/**
 * PP-StructureV3's table OCR input: the page's OCR, each formula as `$LaTeX$` and each image block as
 * its centred <img> tag (PaddleX's imgs_in_doc), so tables show the formulas and images they hold.
 */
function tableOcrInput(ocr: OverallOcr, formulas: readonly PageFormula[], layoutBoxes: readonly LayoutBox[]): OcrLines {
  const lines = ocrLines(ocr);
  for (const { box, latex } of formulas) {
    addLine(lines, box, latex.startsWith('$') && latex.endsWith('$') ? latex : `$${latex}$`, 1);
  }
  for (const b of layoutBoxes) {
    if (!inLabels(b.label, 'image_labels')) continue;
    const box = b.coordinate.map((v) => Math.trunc(v));
    addLine(lines, box, `<div style="text-align: center;"><img src="${blockImagePath(b.label, box)}" alt="Image" /></div>`, b.score);
  }
  return lines;
}

const worker = defineWorker(async (config, rt) => {
  const layout = await loadModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const regionDetector = await loadOptionalModel(config, REGION_DETECTION, 'layout_detection', rt);
  const generalOcr = await createOcrEngine(config.SubPipelines![GENERAL_OCR]!, rt, `SubPipelines.${GENERAL_OCR}`);
  const sealConfig = config.SubPipelines?.[SEAL_RECOGNITION]?.SubPipelines?.[SEAL_OCR];
  const seal = sealConfig
    ? sealRecognizer(await createOcrEngine(sealConfig, rt, `SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR}`))
    : undefined;
  const tableConfig = config.SubPipelines?.[TABLE_RECOGNITION];
  const recognizeTables = tableConfig
    ? await createLayoutTableRecognizer(tableConfig, rt, generalOcr, `SubPipelines.${TABLE_RECOGNITION}`)
    : undefined;
  const formulaConfig = config.SubPipelines?.[FORMULA_RECOGNITION];
  const recognizeFormulas = formulaConfig
    ? await loadFormulaRecognition(formulaConfig, rt, `SubPipelines.${FORMULA_RECOGNITION}`)
    : undefined;
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.DocPreprocessor, rt, 'SubPipelines.DocPreprocessor');

  /** PaddleX's formula_recognition with the layout's boxes: each `formula` box cropped and read. */
  async function readFormulas(page: RgbImage, boxes: LayoutBox[]): Promise<PageFormula[]> {
    const formulaBoxes = boxes.filter((b) => b.label.toLowerCase() === 'formula');
    const latex = await recognizeFormulas!(formulaBoxes.map((b) => cropBox(page, b.coordinate)));
    return formulaBoxes.map((b, i) => ({ box: b.coordinate, latex: latex[i]! }));
  }

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
    const formulas = s.useFormulaRecognition ? await readFormulas(page, layoutBoxes) : [];
    // PP-StructureV3 reads the rest of the page with its formulas painted white
    const work =
      s.variant === 'v3' && formulas.length
        ? whitened(
            page,
            formulas.map((f) => f.box),
          )
        : page;
    const ocrPage = await generalOcr(work, s.ocr);
    const overallOcr = ocrPage.prunedResult;
    const ocr = toOverallOcr(overallOcr);
    const tables =
      s.useTableRecognition && recognizeTables
        ? (
            await recognizeTables(
              work,
              layoutBoxes,
              s.variant === 'v3' ? tableOcrInput(ocr, formulas, layoutBoxes) : ocrLines(ocr),
              // PP-StructureV3 asks its table pipeline for cell_sort_by_y_projection; v1 does not
              { ...s.table, cellSortByYProjection: s.variant === 'v3' },
            )
          ).map((t) => t.json)
        : [];
    const sealRes = s.useSealRecognition && seal ? await seal.recognize(work, layoutBoxes, s) : undefined;

    const common = {
      ...(docPreprocessed ? { doc_preprocessor_res: docPreprocessed.result } : {}),
      layout_det_res: { boxes: layoutBoxes },
      overall_ocr_res: overallOcr,
      ...(tables.length ? { table_res_list: tables } : {}),
      ...(sealRes?.results.length ? { seal_res_list: sealRes.results } : {}),
      ...(formulas.length
        ? { formula_res_list: formulas.map((f, i) => ({ rec_formula: f.latex, formula_region_id: i + 1, dt_polys: [[...f.box] as Box] })) }
        : {}),
    };
    const special = { table: tables.map((t) => t.pred_html), seal: sealRes?.contents ?? [] };

    let prunedResult: LayoutParsingPage['prunedResult'];
    let markdown: LayoutParsingPage['markdown'];
    let blockBoxes: Array<readonly number[]>;
    let orderedBlocks: OrderedBlock[] | undefined;
    if (s.variant === 'v1') {
      const parsing = await parseBlocksV1(
        page,
        layoutBoxes,
        ocr,
        { ...special, formula: formulas.map((f) => f.latex) },
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
        const crop = cropBox(work, box);
        if (!crop.width || !crop.height) return { text: '', score: 0 };
        const [read] = await generalOcr.recognize([crop]);
        return read!;
      };
      const std = await standardize(page, layoutBoxes, regionBoxes, ocr, recognize, s.textRecScoreThresh, formulas);
      const blocks = await parseBlocks(std, ocr, { ...special, chart: [] }, s.markdownIgnoreLabels, {
        recognize,
        scoreThresh: s.ocrYamlRecScoreThresh,
      });
      blockBoxes = blocks.map((b) => b.bbox);
      orderedBlocks = blocks;
      if (s.relevelTitles) assignTitleLevels(await loadCv(), page, blocks);
      const md = pageMarkdown(blocks, s, page.width);
      const images: Record<string, Uint8Array> = {};
      if (s.returnMarkdownImages) {
        for (const [path, box] of md.images) {
          // PaddleX crops the blocks from the page it parses (formulas white), images from the page as detected
          const source = blocks.some((b) => b.image?.path === path && inLabels(b.label, 'image_labels')) ? page : work;
          images[path] = await encodeJpeg(cropBox(source, box), DOCUMENT_JPEG_QUALITY);
        }
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
      if (tables.length) outputImages.table_cell_img = await drawTableCells(page, tables, s.maxOutputImgSize);
      sealRes?.images.forEach((img, i) => {
        outputImages[`seal_res_region${i + 1}`] = img;
      });
      // v1 shows each formula model result's own image (its crop beside the typeset LaTeX); PP-StructureV3 does not
      if (s.variant === 'v1') {
        const crops = formulas.map((f) => cropBox(page, f.box));
        const images = await formulaRegionImages(
          crops,
          formulas.map((f) => f.latex),
          s.maxOutputImgSize,
        );
        for (const [key, image] of images) outputImages[key] = image;
      }
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
