/**
 * The visual stage of PP-ChatOCR, worker side: PaddleX's layout_parsing (v1) per page — doc
 * preprocessing, layout detection, general OCR, seal recognition on the `seal` regions, table
 * recognition on the `table` regions, formula recognition on the `formula` regions — and its
 * get_layout_parsing_res, which turns them into `parsing_res_list` blocks. The HTTP side reads only `VisualPage`.
 */
import type { PipelineConfig } from '../../../config/pipelineConfig.js';
import type { RgbImage } from '../../../io/image.js';
import { loadModel } from '../../../models/registry.js';
import type { RuntimeContext } from '../../../runtime/context.js';
import { DOC_PREPROCESSOR } from '../ocrSettings.js';
import { drawDocPreprocessing, loadDocPreprocessor } from '../docPreprocessingWorker.js';
import { pageWithOutputImages } from '../documentWorker.js';
import { drawDetections } from '../drawDetections.js';
import { formulaRegionImages, loadFormulaRecognition } from '../formulaRecognitionWorker.js';
import { cropByBox } from '../layoutRegionsWorker.js';
import { createOcrEngine } from '../ocrEngine.js';
import { createLayoutTableRecognizer, drawTableCells, type TableRegionResult } from '../tableRecognitionWorker.js';
import {
  FORMULA_PIPELINE,
  GENERAL_OCR,
  LAYOUT_DETECTION,
  LAYOUT_PARSER,
  type LayoutParsingPrunedResult,
  SEAL_OCR,
  SEAL_RECOGNITION,
  TABLE_RECOGNITION,
  type VisualPage,
  type VisualSettings,
} from './visualSettings.js';

type Box = [number, number, number, number];
type Block = LayoutParsingPrunedResult['parsing_res_list'][number];

/** PaddleX's get_overlap_boxes_idx: text boxes overlapping a region by more than 3 px each way. */
function overlappingIndexes(textBoxes: readonly Box[], region: Box): number[] {
  const found: number[] = [];
  textBoxes.forEach((box, i) => {
    const width = Math.min(region[2], box[2]) - Math.max(region[0], box[0]);
    const height = Math.min(region[3], box[3]) - Math.max(region[1], box[1]);
    if (width > 3 && height > 3) found.push(i);
  });
  return found;
}

/** PaddleX's sorted_layout_boxes: reading order with a left and a right column on the page's width `w`. */
export function sortLayoutBlocks(blocks: Block[], w: number): Block[] {
  if (blocks.length === 1) return blocks;
  const sorted = [...blocks].sort((a, b) => a.block_bbox[1] - b.block_bbox[1] || a.block_bbox[0] - b.block_bbox[0]);
  const ordered: Block[] = [];
  let left: Block[] = [];
  let right: Block[] = [];
  for (const block of sorted) {
    const [x1, , x2] = block.block_bbox;
    if (x1 < w / 4 && x2 < (3 * w) / 5) left.push(block);
    else if (x1 > (2 * w) / 5) right.push(block);
    else {
      ordered.push(...left, ...right, block);
      left = [];
      right = [];
    }
  }
  const byTop = (a: Block, b: Block) => a.block_bbox[1] - b.block_bbox[1];
  ordered.push(...left.sort(byTop), ...right.sort(byTop));
  return ordered;
}

/** The page white everywhere but inside `box` (PaddleX re-reads a region this way when OCR lines span several blocks). */
function isolateRegion(page: RgbImage, [x1, y1, x2, y2]: Box): RgbImage {
  const data = new Uint8Array(page.data.length).fill(255);
  const [left, top] = [Math.max(0, Math.trunc(x1)), Math.max(0, Math.trunc(y1))];
  const [right, bottom] = [Math.min(page.width, Math.trunc(x2)), Math.min(page.height, Math.trunc(y2))];
  for (let y = top; y < bottom; y++) {
    const start = (y * page.width + left) * 3;
    data.set(page.data.subarray(start, start + Math.max(0, right - left) * 3), start);
  }
  return { width: page.width, height: page.height, data };
}

export async function createVisualStage(
  config: PipelineConfig,
  rt: RuntimeContext,
): Promise<(page: RgbImage, s: VisualSettings) => Promise<VisualPage>> {
  const parser = config.SubPipelines![LAYOUT_PARSER]!;
  const prefix = `SubPipelines.${LAYOUT_PARSER}`;
  const layout = await loadModel(parser, LAYOUT_DETECTION, 'layout_detection', rt, prefix);
  const generalOcr = await createOcrEngine(parser.SubPipelines![GENERAL_OCR]!, rt, `${prefix}.SubPipelines.${GENERAL_OCR}`);
  const sealPipeline = parser.SubPipelines?.[SEAL_RECOGNITION]?.SubPipelines?.[SEAL_OCR];
  const sealOcr =
    sealPipeline && (await createOcrEngine(sealPipeline, rt, `${prefix}.SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR}`));
  const tableConfig = parser.SubPipelines?.[TABLE_RECOGNITION];
  const recognizeTables =
    tableConfig && (await createLayoutTableRecognizer(tableConfig, rt, generalOcr, `${prefix}.SubPipelines.${TABLE_RECOGNITION}`));
  const formulaConfig = parser.SubPipelines?.[FORMULA_PIPELINE];
  const recognizeFormulas =
    formulaConfig && (await loadFormulaRecognition(formulaConfig, rt, `${prefix}.SubPipelines.${FORMULA_PIPELINE}`));
  const docPreprocessorConfig = parser.SubPipelines?.[DOC_PREPROCESSOR];
  const preprocess =
    docPreprocessorConfig && (await loadDocPreprocessor(docPreprocessorConfig, rt, `${prefix}.SubPipelines.${DOC_PREPROCESSOR}`));

  return async (input, s) => {
    const outputImages: Record<string, Uint8Array> = {};
    const docPreprocessed = s.useDocPreprocessor ? await preprocess!(input, s.docSteps) : undefined;
    const page = docPreprocessed?.output ?? input;
    if (docPreprocessed && s.visualize)
      outputImages.preprocessed_img = await drawDocPreprocessing(input, docPreprocessed, s.maxOutputImgSize);

    const [boxes] = await layout.predict([page], s.layout);
    const layoutBoxes = boxes!.map((b) => ({ ...b, label: b.label.toLowerCase() }));
    const overall = await generalOcr(page, s.ocr);
    const ocrRes = overall.prunedResult;
    const textBoxes = ocrRes.rec_boxes as Box[];
    const tables: TableRegionResult[] = s.useTableRecognition ? await recognizeTables!(page, layoutBoxes, ocrRes, s.table) : [];

    // PaddleX's seal_recognition with the layout given: each seal region cropped and read
    const sealResults: Array<typeof ocrRes> = [];
    const sealImages: Array<[string, Uint8Array]> = [];
    if (s.useSealRecognition) {
      const seals = layoutBoxes.filter((b) => b.label === 'seal');
      for (const [index, { coordinate }] of seals.entries()) {
        const result = await sealOcr!(cropByBox(page, coordinate), s.seal);
        sealResults.push(result.prunedResult);
        if (result.images.ocrImage) sealImages.push([`seal_res_region${index + 1}`, result.images.ocrImage]);
      }
    }

    // PaddleX's formula_recognition with the layout given: each formula region cropped and read
    const formulaBoxes = s.useFormulaRecognition ? layoutBoxes.filter((b) => b.label === 'formula') : [];
    const formulaCrops = formulaBoxes.map((b) => cropByBox(page, b.coordinate));
    const formulas = formulaCrops.length ? await recognizeFormulas!(formulaCrops) : [];

    // PaddleX's get_layout_parsing_res
    const blocks: Block[] = [];
    const blocksOfLine = new Map<number, number[]>();
    let sealIndex = 0;
    let tableIndex = 0;
    let formulaIndex = 0;
    for (const [blockIndex, box] of layoutBoxes.entries()) {
      const block: Block = { block_bbox: box.coordinate, block_label: box.label, block_content: '' };
      if (box.label === 'seal') {
        if (sealResults.length) block.block_content = sealResults[sealIndex++]!.rec_texts.join(', ');
      } else if (box.label === 'table') {
        if (tables.length) block.block_content = tables[tableIndex++]!.json.pred_html;
      } else if (box.label === 'formula') {
        if (formulas.length) block.block_content = formulas[formulaIndex++]!;
      } else {
        const lines = [...new Set(overlappingIndexes(textBoxes, box.coordinate))].sort((a, b) => a - b);
        for (const line of lines) blocksOfLine.set(line, [...(blocksOfLine.get(line) ?? []), blockIndex]);
        block.block_content = lines.map((i) => ocrRes.rec_texts[i]).join('\n');
      }
      blocks.push(block);
    }
    // a line read across several blocks: each of those blocks is read again on its own
    const spanning = new Set([...blocksOfLine.values()].filter((ids) => ids.length > 1).flat());
    for (const blockIndex of spanning) {
      const block = blocks[blockIndex]!;
      const alone = await generalOcr(isolateRegion(page, block.block_bbox), { ...s.ocr, visualize: false });
      block.block_content = alone.prunedResult.rec_texts.join('\n');
    }
    const covered = new Set(layoutBoxes.flatMap((box) => overlappingIndexes(textBoxes, box.coordinate)));
    textBoxes.forEach((box, i) => {
      if (!covered.has(i)) blocks.push({ block_bbox: box, block_label: 'other_text', block_content: ocrRes.rec_texts[i]! });
    });

    const prunedResult: LayoutParsingPrunedResult = {
      model_settings: {
        use_doc_preprocessor: s.useDocPreprocessor,
        use_seal_recognition: s.useSealRecognition,
        use_table_recognition: s.useTableRecognition,
        use_formula_recognition: s.useFormulaRecognition,
      },
      parsing_res_list: sortLayoutBlocks(blocks, page.width),
      ...(docPreprocessed ? { doc_preprocessor_res: docPreprocessed.result } : {}),
      layout_det_res: { boxes: layoutBoxes.map((b) => ({ cls_id: b.clsId, label: b.label, score: b.score, coordinate: b.coordinate })) },
      overall_ocr_res: ocrRes,
      ...(tables.length ? { table_res_list: tables.map((table) => table.json) } : {}),
      ...(sealResults.length ? { seal_res_list: sealResults } : {}),
      ...(formulas.length
        ? {
            formula_res_list: formulas.map((latex, i) => ({
              rec_formula: latex,
              formula_region_id: i + 1,
              dt_polys: [formulaBoxes[i]!.coordinate],
            })),
          }
        : {}),
    };
    if (s.visualize) {
      outputImages.layout_det_res = await drawDetections(
        page,
        boxes!.map((b) => ({ bbox: b.coordinate, categoryId: b.clsId, categoryName: b.label, score: b.score })),
      );
      if (overall.images.ocrImage) outputImages.overall_ocr_res = overall.images.ocrImage;
      if (tables.length)
        outputImages.table_cell_img = await drawTableCells(
          page,
          tables.map((table) => table.json),
          s.maxOutputImgSize,
        );
      for (const [key, image] of sealImages) outputImages[key] = image;
      for (const [key, image] of await formulaRegionImages(formulaCrops, formulas, s.maxOutputImgSize)) outputImages[key] = image;
    }
    return {
      ...(await pageWithOutputImages(prunedResult, outputImages, input, s)),
      tableNeighborTexts: tables.map((table) => table.neighborTexts),
    };
  };
}
