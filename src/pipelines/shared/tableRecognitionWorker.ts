/**
 * PaddleX's table_recognition and table_recognition_v2 pipelines, worker side
 * (table_recognition/pipeline.py and pipeline_v2.py): doc preprocessing → GeneralOCR on the page →
 * layout detection (or the whole page as one table) → per table region its structure, cells and
 * HTML; and PaddleX's images. The per-region step, `createTableRecognizer`, is what the layout
 * parsing pipeline calls for each of its table blocks.
 */
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { RgbImage } from '../../io/image.js';
import type { DetectedObject } from '../../models/objectDetection.js';
import { loadModel, loadOptionalModel } from '../../models/registry.js';
import type { TableStructure } from '../../models/tableStructure.js';
import { rotateImage } from '../../ops/quad.js';
import { cropImage } from '../../ops/resize.js';
import type { RuntimeContext } from '../../runtime/context.js';
import { imageToCanvas } from '../../vis/draw.js';
import { DOC_PREPROCESSOR, type OcrPage } from './ocrSettings.js';
import { drawDocPreprocessing, loadDocPreprocessor } from './docPreprocessingWorker.js';
import { documentOps, encodeOutputImage, pageWithOutputImages } from './documentWorker.js';
import { drawDetections } from './drawDetections.js';
import { createOcrEngine, type OcrEngine } from './ocrEngine.js';
import {
  cellsNms,
  cellsToHtmlTokens,
  linesInsideTable,
  neighborLineIndices,
  type OcrLines,
  reconcileCells,
  splitLinesByCells,
  subRegionOcr,
  tableResFromCells,
  tableResFromStructure,
  type TableResJson,
} from './tablePostprocess.js';
import { GENERAL_OCR, TABLE_ROLES, TABLE_STRUCTURE, type TablePage, type TableSettings } from './tableRecognition.js';
import { LAYOUT_DETECTION } from './layoutRegions.js';

/** One table region to recognize. */
export interface TableRegion {
  /** the table's pixels (the crop of the layout box, or the whole page) */
  image: RgbImage;
  /** where the crop sits on the page, [x1, y1, x2, y2] (integer corners, as PaddleX's CropByBoxes) */
  tableBox: number[];
  /** the page's OCR result (`overall_ocr_res`): its rec_polys, rec_texts, rec_scores and rec_boxes */
  ocr: OcrLines;
  /** [width, height] of the page image the OCR ran on: cells are clipped to it */
  pageSize: [number, number];
  /** collect the OCR lines touching the table's top or bottom edge as `neighborTexts` (PaddleX: yes for layout boxes, no for a whole page) */
  findNeighborText: boolean;
}

/** What one table region gives: PaddleX's `table_res_list` entry, and the fields PaddleX keeps out of its JSON. */
export interface TableRegionResult {
  /** `{cell_box_list, pred_html, table_ocr_pred}` (cells in page pixels) */
  json: TableResJson;
  /** the neighbouring lines' texts, each followed by "; " */
  neighborTexts: string;
}

/**
 * Per-request table options: `useOcrResultsWithTableCells`, and for v2 its table switches;
 * `cellSortByYProjection`: PaddleX's cell_sort_by_y_projection, which PP-StructureV3 passes to its
 * table pipeline and only table_recognition (v1) reads (v2 takes it in **kwargs and drops it).
 */
export type TableOptions = Pick<TableSettings, 'useOcrResultsWithTableCells' | 'cellOcr' | 'v2'> & { cellSortByYProjection?: boolean };

/**
 * Loads the table models of a table_recognition or table_recognition_v2 config (by its
 * `pipeline_name`; `keyPrefix` names where the config sits, e.g. `SubPipelines.TableRecognition`)
 * and returns PaddleX's predict_single_table_recognition_res: given a table region (its image, its
 * box on the page, the page's OCR result) and the options, the table's `table_res_list` entry.
 * `ocr` is the GeneralOCR engine (v1 reads each cell with it, v2 re-reads split lines with its
 * recognition model).
 */
export async function createTableRecognizer(
  config: PipelineConfig,
  rt: RuntimeContext,
  ocr: OcrEngine,
  keyPrefix = '',
): Promise<(region: TableRegion, options: TableOptions) => Promise<TableRegionResult>> {
  const neighborTexts = (region: TableRegion) =>
    region.findNeighborText
      ? neighborLineIndices(region.ocr.rec_boxes, region.tableBox)
          .map((i) => `${region.ocr.rec_texts[i]}; `)
          .join('')
      : '';

  if (config.pipeline_name !== 'table_recognition_v2') {
    const structureModel = await loadModel(config, TABLE_STRUCTURE, 'table_structure_recognition', rt, keyPrefix);
    return async (region, options) => {
      const structure = await structureModel.predict(region.image);
      let cellTexts: string[] | undefined;
      if (options.useOcrResultsWithTableCells) {
        // PaddleX's split_ocr_bboxes_by_table_cells: the whole OCR on each cell's crop (corners 1 and 3, rounded up)
        cellTexts = [];
        for (const c of structure.bbox) {
          const crop = numpySlice(region.image, [c[0]!, c[1]!, c[4]!, c[5]!].map(Math.ceil));
          cellTexts.push(crop ? (await ocr(crop, options.cellOcr)).prunedResult.rec_texts.join('') : '');
        }
      }
      const json = tableResFromStructure({
        ...region,
        structure: structure.structure,
        corners: structure.bbox,
        cellTexts,
        sortByY: options.cellSortByYProjection,
      });
      return { json, neighborTexts: neighborTexts(region) };
    };
  }

  const classifier = await loadModel(config, TABLE_ROLES.classification, 'table_classification', rt, keyPrefix);
  const loadKind = async (structureRole: string, cellsRole: string) => ({
    structure: await loadModel(config, structureRole, 'table_structure_recognition', rt, keyPrefix),
    cells: await loadModel(config, cellsRole, 'table_cells_detection', rt, keyPrefix),
  });
  const kinds = {
    wired_table: await loadKind(TABLE_ROLES.wiredStructure, TABLE_ROLES.wiredCells),
    wireless_table: await loadKind(TABLE_ROLES.wirelessStructure, TABLE_ROLES.wirelessCells),
  };
  return async (region, options) => {
    const flags = options.v2!;
    const [cls] = await classifier.predict([region.image], { topk: 1 });
    const label = cls!.labelNames[0]!;
    if (label !== 'wired_table' && label !== 'wireless_table') {
      throw new Error(
        `${keyPrefix}SubModules.${TABLE_ROLES.classification}: the table classifier answered "${label}"; PaddleX's table_cls labels are wired_table and wireless_table`,
      );
    }
    const models = kinds[label];
    const wired = label === 'wired_table';
    const e2e = wired ? flags.useE2eWiredTableRecModel : flags.useE2eWirelessTableRecModel;
    const cellsToHtml = wired ? flags.useWiredTableCellsTransToHtml : flags.useWirelessTableCellsTransToHtml;
    const structurePred: TableStructure | undefined = cellsToHtml && !e2e ? undefined : await models.structure.predict(region.image);
    let json: TableResJson;
    if (e2e) {
      const corners = structurePred!.bbox;
      const structure = cellsToHtml ? cellsToHtmlTokens(corners.map((c) => [c[0]!, c[1]!, c[4]!, c[5]!])) : structurePred!.structure;
      json = tableResFromStructure({ ...region, structure, corners });
    } else {
      // PaddleX: threshold 0.3 for the cell detectors, every box with a positive score, then NMS at IoU 0.3
      const [detected] = await models.cells.predict([region.image], { threshold: 0.3 });
      const positive = detected!.filter((d: DetectedObject) => d.score > 0);
      const nms = cellsNms(
        positive.map((d) => [...d.coordinate]),
        positive.map((d) => d.score),
      );
      let structure: string[];
      let cells: number[][];
      if (cellsToHtml) {
        structure = cellsToHtmlTokens(nms.boxes);
        cells = nms.boxes;
      } else {
        structure = structurePred!.structure;
        cells = reconcileCells(nms.boxes, nms.scores, linesInsideTable(region.ocr.rec_boxes, region.tableBox), structurePred!.bbox.length);
      }
      // PaddleX compares page-pixel OCR lines with crop-pixel cells here, and crops the table image at page pixels
      const splitOcr = options.useOcrResultsWithTableCells
        ? await splitLinesByCells(cells, subRegionOcr(region.ocr, region.tableBox), async (box) => {
            const crop = numpySlice(region.image, box);
            return crop ? (await ocr.recognize([crop]))[0]!.text : '';
          })
        : undefined;
      json = tableResFromCells({ ...region, structure, cells, splitOcr });
    }
    return { json, neighborTexts: neighborTexts(region) };
  };
}

/** numpy's `image[y1:y2, x1:x2]` (bounds clamped); undefined when empty. */
function numpySlice(img: RgbImage, [x1, y1, x2, y2]: number[]): RgbImage | undefined {
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const [left, top, right, bottom] = [clamp(x1!, img.width), clamp(y1!, img.height), clamp(x2!, img.width), clamp(y2!, img.height)];
  return right > left && bottom > top ? cropImage(img, left, top, right - left, bottom - top) : undefined;
}

/** PaddleX's OCR result fields the table step reads, from the OCR page. */
function ocrLinesOf(page: OcrPage): OcrLines {
  const { rec_polys, rec_texts, rec_scores, rec_boxes } = page.prunedResult;
  return { rec_polys, rec_texts, rec_scores, rec_boxes };
}

type Angle = 0 | 90 | 180 | 270;

/** A box on the page turned counter-clockwise by `angle` (np.rot90), as PaddleX maps the table box; `width`/`height` of the unturned page. */
function turnBox([x1, y1, x2, y2]: number[], angle: Angle, width: number, height: number): number[] {
  if (angle === 90) return [y1!, width - x2!, y2!, width - x1!];
  if (angle === 180) return [width - x2!, height - y2!, width - x1!, height - y1!];
  if (angle === 270) return [height - y2!, x1!, height - y1!, x2!];
  return [x1!, y1!, x2!, y2!];
}

/** PaddleX's map_cells_to_original_image: cells of the turned page back to the page; `width`/`height` of the turned page. */
function unturnCells(cells: number[][], angle: Angle, width: number, height: number): number[][] {
  const back: Record<Angle, Angle> = { 0: 0, 90: 270, 180: 180, 270: 90 };
  return cells.map((c) => turnBox(c, back[angle], width, height));
}

/** PaddleX's table_cell_img: the page with every table's cells outlined in red, 2 px inside each box (PIL's rectangle). */
export async function drawTableCells(page: RgbImage, tables: TableResJson[], maxSize: [number, number]): Promise<Uint8Array> {
  const canvas = imageToCanvas(page);
  const ctx = canvas.getContext('2d');
  ctx.strokeStyle = 'rgb(255, 0, 0)';
  ctx.lineWidth = 2;
  for (const table of tables) {
    for (const box of table.cell_box_list) {
      const [x1, y1, x2, y2] = box.map(Math.trunc) as [number, number, number, number];
      ctx.strokeRect(x1 + 1, y1 + 1, x2 - x1 - 1, y2 - y1 - 1);
    }
  }
  const rgba = ctx.getImageData(0, 0, page.width, page.height).data;
  const rgb = new Uint8Array(page.width * page.height * 3);
  for (let s = 0, d = 0; d < rgb.length; s += 4, d += 3) rgb.set(rgba.subarray(s, s + 3), d);
  return encodeOutputImage({ width: page.width, height: page.height, data: rgb }, maxSize);
}

type Recognizer = Awaited<ReturnType<typeof createTableRecognizer>>;

/** What recognising one table region takes: the recogniser, v2's orientation model, and the OCR that reads a turned page. */
export interface TableTools {
  recognize: Recognizer;
  orientation?: Awaited<ReturnType<typeof loadOptionalModel<'doc_text_orientation'>>>;
  ocr: OcrEngine;
}

/**
 * One table region as PaddleX's table pipelines read it (v2 first turns it upright: with
 * use_table_orientation_classify, a turned table turns the page, whose OCR is read again and used
 * for this table, and its cells are turned back onto `page`). `reread`: that OCR, which PaddleX
 * keeps for the page's later tables.
 */
export async function recognizeTableRegion(
  tools: TableTools,
  page: RgbImage,
  region: TableRegion,
  s: TableOptions & Pick<TableSettings, 'ocr'>,
): Promise<TableRegionResult & { reread?: { page: OcrPage; size: [number, number] } }> {
  const angle: Angle = s.v2?.useTableOrientationClassify ? (await tools.orientation!.predict(region.image)).angle : 0;
  if (angle === 0) return tools.recognize(region, s);
  const turnedPage = rotateImage(page, angle);
  const reread = { page: await tools.ocr(turnedPage, s.ocr), size: [turnedPage.width, turnedPage.height] as [number, number] };
  const { json, neighborTexts } = await tools.recognize(
    {
      ...region,
      image: rotateImage(region.image, angle),
      tableBox: turnBox(region.tableBox, angle, page.width, page.height),
      ocr: ocrLinesOf(reread.page),
      pageSize: reread.size,
    },
    s,
  );
  return {
    json: { ...json, cell_box_list: unturnCells(json.cell_box_list, angle, turnedPage.width, turnedPage.height) },
    neighborTexts,
    reread,
  };
}

/** A layout box as the table step reads it. */
interface LabelledBox {
  label: string;
  coordinate: readonly number[];
}

/**
 * PaddleX's table pipeline as layout parsing calls it (use_layout_detection and use_ocr_model off,
 * the layout's boxes and the page's OCR given): the `table` boxes cropped from the page and read in
 * layout order. The table config's own GeneralOCR (else `pageOcrEngine`) reads turned pages and split
 * lines; `keyPrefix` locates the table config, e.g. `SubPipelines.TableRecognition`.
 */
export async function createLayoutTableRecognizer(config: PipelineConfig, rt: RuntimeContext, pageOcrEngine: OcrEngine, keyPrefix: string) {
  const tableOcrConfig = config.SubPipelines?.[GENERAL_OCR];
  const ocr = tableOcrConfig ? await createOcrEngine(tableOcrConfig, rt, `${keyPrefix}.SubPipelines.${GENERAL_OCR}`) : pageOcrEngine;
  const v2 = config.pipeline_name === 'table_recognition_v2';
  const tools: TableTools = {
    recognize: await createTableRecognizer(config, rt, ocr, keyPrefix),
    orientation: v2 ? await loadOptionalModel(config, TABLE_ROLES.orientation, 'doc_text_orientation', rt, keyPrefix) : undefined,
    ocr,
  };
  return async (
    page: RgbImage,
    boxes: readonly LabelledBox[],
    pageOcr: OcrLines,
    s: TableOptions & Pick<TableSettings, 'ocr'>,
  ): Promise<TableRegionResult[]> => {
    let ocrLines = pageOcr;
    let pageSize: [number, number] = [page.width, page.height];
    const tables: TableRegionResult[] = [];
    for (const box of boxes) {
      if (box.label.toLowerCase() !== 'table') continue;
      const tableBox = box.coordinate.map(Math.trunc);
      const image = numpySlice(page, tableBox);
      if (!image) throw new Error(`layout table box [${box.coordinate.join(', ')}] is empty once cut at whole pixels`);
      const { reread, ...table } = await recognizeTableRegion(
        tools,
        page,
        { image, tableBox, ocr: ocrLines, pageSize, findNeighborText: true },
        s,
      );
      if (reread) [ocrLines, pageSize] = [ocrLinesOf(reread.page), reread.size];
      tables.push(table);
    }
    return tables;
  };
}

/** The table pipeline's page function (table_recognition or table_recognition_v2, by the config's pipeline_name). */
export async function createTablePagePredictor(config: PipelineConfig, rt: RuntimeContext) {
  const v2 = config.pipeline_name === 'table_recognition_v2';
  const ocr = await createOcrEngine(config.SubPipelines![GENERAL_OCR]!, rt, `SubPipelines.${GENERAL_OCR}`);
  const recognize = await createTableRecognizer(config, rt, ocr);
  const layout = await loadOptionalModel(config, LAYOUT_DETECTION, 'layout_detection', rt);
  const orientation = v2 ? await loadOptionalModel(config, TABLE_ROLES.orientation, 'doc_text_orientation', rt) : undefined;
  const tools: TableTools = { recognize, orientation, ocr };
  const preprocess = await loadDocPreprocessor(config.SubPipelines?.[DOC_PREPROCESSOR], rt, `SubPipelines.${DOC_PREPROCESSOR}`);

  return async function predictPage(page: RgbImage, s: TableSettings): Promise<TablePage> {
    const docPreprocessed = s.useDocPreprocessor ? await preprocess(page, s.docSteps) : undefined;
    const docImage = docPreprocessed?.output ?? page;
    // the page OCR; v2 reads a turned page again when a table is turned, and keeps that result (as PaddleX)
    let ocrPage = await ocr(docImage, s.ocr);
    let ocrSize: [number, number] = [docImage.width, docImage.height];

    async function recognizeRegion(image: RgbImage, box: number[], findNeighborText: boolean): Promise<TableResJson> {
      const region = { image, tableBox: box, ocr: ocrLinesOf(ocrPage), pageSize: ocrSize, findNeighborText };
      const { json, reread } = await recognizeTableRegion(tools, docImage, region, s);
      if (reread) [ocrPage, ocrSize] = [reread.page, reread.size];
      return json;
    }

    const tables: TableResJson[] = [];
    let layoutBoxes: DetectedObject[] | undefined;
    if (!s.useLayoutDetection) {
      // the whole page is the table
      tables.push(await recognizeRegion(docImage, [0, 0, docImage.width - 1, docImage.height - 1], false));
    } else {
      [layoutBoxes] = await layout!.predict([docImage]);
      for (const box of layoutBoxes!) {
        if (box.label.toLowerCase() !== 'table') continue;
        // PaddleX's CropByBoxes: integer corners, image[y1:y2, x1:x2]; v1 crops the page before doc preprocessing (as PaddleX)
        const corners = box.coordinate.map(Math.trunc);
        const source = v2 ? docImage : page;
        const crop = numpySlice(source, corners);
        if (!crop) throw new Error(`layout table box [${box.coordinate.join(', ')}] is empty once cut at whole pixels`);
        tables.push(await recognizeRegion(crop, corners, true));
      }
    }

    const outputImages: TablePage['outputImages'] = {};
    if (s.visualize) {
      if (layoutBoxes) {
        outputImages.layout_det_res = await drawDetections(
          docImage,
          layoutBoxes.map((b) => ({ bbox: b.coordinate, categoryId: b.clsId, categoryName: b.label, score: b.score })),
        );
      }
      if (docPreprocessed) outputImages.preprocessed_img = await drawDocPreprocessing(page, docPreprocessed, s.maxOutputImgSize);
      if (ocrPage.images.ocrImage) outputImages.ocr_res_img = ocrPage.images.ocrImage;
      if (tables.length) outputImages.table_cell_img = await drawTableCells(docImage, tables, s.maxOutputImgSize);
    }
    const prunedResult = {
      model_settings: { use_doc_preprocessor: s.useDocPreprocessor, use_layout_detection: s.useLayoutDetection, use_ocr_model: true },
      ...(docPreprocessed ? { doc_preprocessor_res: docPreprocessed.result } : {}),
      ...(layoutBoxes
        ? {
            layout_det_res: {
              boxes: layoutBoxes.map((b) => ({ cls_id: b.clsId, label: b.label, score: b.score, coordinate: b.coordinate })),
            },
          }
        : {}),
      overall_ocr_res: ocrPage.prunedResult,
      table_res_list: tables,
    };
    return pageWithOutputImages(prunedResult, outputImages, page, s);
  };
}

/** The table pipelines' worker operations (documentOps around the page function). */
export async function tableWorkerOps(config: PipelineConfig, rt: RuntimeContext) {
  return documentOps(await createTablePagePredictor(config, rt));
}
