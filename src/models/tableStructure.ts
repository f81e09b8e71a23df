/**
 * PaddleX module `table_structure_recognition` (SLANet, SLANet_plus, SLANeXt exported as Paddle
 * inference models): the table image, long side resized to `max_len` and zero-padded to a square,
 * gives per step a structure-token distribution and a cell box; PaddleX's `TableLabelDecode`
 * (table_structure_recognition/processors.py) turns them into HTML structure tokens and cell boxes.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import { loadCv, cvResize, type CV } from '../ops/cv.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import { findPreprocessOp, normalizeSpec, readPreprocessOps } from './preprocessOps.js';

/** What one table image decodes to, as PaddleX's TableRecResult holds it. */
export interface TableStructure {
  /** one box per cell token (`<td>`, `<td`, `<td></td>`), integer pixels of the input image: 8 values (4 corners) for SLANet_plus */
  bbox: number[][];
  /** HTML tokens, wrapped in `<html><body><table>` … `</table></body></html>` */
  structure: string[];
  /** mean probability of the kept tokens */
  structureScore: number;
}

const CELL_TOKENS = new Set(['<td>', '<td', '<td></td>']);
const BEGIN = 'sos';
const END = 'eos';

/**
 * PaddleX's TableLabelDecode token table: `sos`, the dictionary, `eos`. With
 * merge_no_span_structure, `<td></td>` is added (when missing) and `<td>` removed.
 */
export function tableTokenTable(dictionary: readonly string[], mergeNoSpanStructure: boolean): string[] {
  let tokens = [...dictionary];
  if (mergeNoSpanStructure) {
    if (!tokens.includes('<td></td>')) tokens.push('<td></td>');
    // list.remove drops the first occurrence only
    const td = tokens.indexOf('<td>');
    if (td >= 0) tokens = [...tokens.slice(0, td), ...tokens.slice(td + 1)];
  }
  return [BEGIN, ...tokens, END];
}

/** How a decoded cell box maps back to the input image (PaddleX's `_bbox_decode`). */
export interface BoxScale {
  /** the padded model input, [width, height] */
  paddedSize: [number, number];
  /** the input image, [width, height] */
  originalSize: [number, number];
  /** model `SLANet` gives boxes relative to the original image; the others relative to the padded input */
  relativeToOriginal: boolean;
}

function decodeBox(values: ArrayLike<number>, scale: BoxScale): number[] {
  const [ow, oh] = scale.originalSize;
  const [pw, ph] = scale.paddedSize;
  const ratio = Math.min(pw / ow, ph / oh);
  return Array.from(values, (v, i) => {
    const even = i % 2 === 0;
    const pixel = scale.relativeToOriginal ? v * (even ? ow : oh) : (v * (even ? pw : ph)) / ratio;
    // numpy astype(int) truncates toward zero
    return Math.trunc(pixel);
  });
}

/**
 * PaddleX's TableLabelDecode on one image: argmax token per step; stop at `eos` (not at step 0),
 * skip `sos`/`eos`; a cell token takes that step's box. `probs` is [steps, tokens], `boxes` [steps, boxLength].
 */
export function decodeTableStructure(
  probs: Float32Array,
  boxes: Float32Array,
  steps: number,
  tokenTable: readonly string[],
  boxLength: number,
  scale: BoxScale,
): TableStructure {
  const classes = tokenTable.length;
  const endIndex = classes - 1;
  const structure: string[] = [];
  const bbox: number[][] = [];
  const scores: number[] = [];
  for (let step = 0; step < steps; step++) {
    const row = probs.subarray(step * classes, (step + 1) * classes);
    let best = 0;
    for (let k = 1; k < classes; k++) if (row[k]! > row[best]!) best = k;
    if (step > 0 && best === endIndex) break;
    if (best === 0 || best === endIndex) continue;
    const token = tokenTable[best]!;
    if (CELL_TOKENS.has(token)) bbox.push(decodeBox(boxes.subarray(step * boxLength, (step + 1) * boxLength), scale));
    structure.push(token);
    scores.push(row[best]!);
  }
  return {
    bbox,
    structure: ['<html>', '<body>', '<table>', ...structure, '</table>', '</body>', '</html>'],
    structureScore: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : Number.NaN,
  };
}

const dictionarySchema = z.array(z.union([z.string(), z.number()]).transform(String)).min(1);

interface TableConfig {
  maxLen: number;
  padSize: number;
  padValue: number;
  normalize: NormalizeSpec;
  tokenTable: string[];
  relativeToOriginal: boolean;
}

function readTableConfig(yml: InferenceConfigReader, modelName: string): TableConfig {
  const ops = readPreprocessOps(yml, ['DecodeImage', 'ResizeTableImage', 'NormalizeImage', 'PaddingTableImage', 'ToCHWImage']);
  const decode = findPreprocessOp(ops, 'DecodeImage')?.params;
  if (decode && decode.img_mode === 'RGB') throw yml.error('DecodeImage.img_mode', 'PaddleX table models read BGR images');
  const resize = findPreprocessOp(ops, 'ResizeTableImage')?.params;
  const pad = findPreprocessOp(ops, 'PaddingTableImage')?.params;
  const post = yml.config.PostProcess ?? {};
  if (post.name !== undefined && post.name !== 'TableLabelDecode')
    throw yml.error('PostProcess.name', `expected TableLabelDecode, got ${post.name}`);
  const dictionary = yml.parse(dictionarySchema, post.character_dict, 'PostProcess.character_dict');
  // PaddleX takes the flag from the TableLabelEncode op of PreProcess.
  const encode = (yml.config.PreProcess?.transform_ops ?? []).find((op: Record<string, unknown>) => op && 'TableLabelEncode' in op);
  const merge = yml.parse(
    z.boolean().nullish(),
    encode?.TableLabelEncode?.merge_no_span_structure ?? post.merge_no_span_structure,
    'PreProcess.transform_ops (TableLabelEncode).merge_no_span_structure',
  );
  return {
    maxLen: resize?.max_len ?? 488,
    // PaddleX pads to a square of size[0] (its default size is [488, 448])
    padSize: pad?.size?.[0] ?? 488,
    padValue: pad?.pad_value ?? 0,
    // PaddleX's table Normalize always scales by 1/255, whatever `scale` says
    normalize: { ...normalizeSpec(findPreprocessOp(ops, 'NormalizeImage')?.params, 'bgr'), scale: 1 / 255 },
    tokenTable: tableTokenTable(dictionary, merge ?? true),
    relativeToOriginal: modelName === 'SLANet',
  };
}

/** A table structure model: one image per session run (PaddleX's TableLabelDecode reads only the first image of a batch). */
export class TableStructureRecognizer {
  private constructor(
    private readonly cv: CV,
    private readonly session: InferenceSession,
    private readonly config: TableConfig,
    private readonly where: string,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TableStructureRecognizer> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const modelName = String(yml.config.Global?.model_name ?? sub.model_name);
    const config = readTableConfig(yml, modelName);
    const [cv, session] = await Promise.all([loadCv(), rt.loadSession(sub.resolved)]);
    if (session.inputNames.length !== 1 || session.outputNames.length !== 2) {
      throw yml.error(
        'model',
        `inference.onnx takes [${session.inputNames.join(', ')}] and gives [${session.outputNames.join(', ')}]; a table structure export takes one image and gives cell boxes [N, L, 4|8] and token probabilities [N, L, tokens]`,
      );
    }
    return new TableStructureRecognizer(cv, session, config, yml.where);
  }

  /** The square padded input: the image (BGR, normalized) at its resized size in the top-left corner. */
  private prepare(img: RgbImage): Float32Array {
    const { maxLen, padSize, padValue, normalize } = this.config;
    const scale = maxLen / Math.max(img.width, img.height);
    const resized = cvResize(this.cv, img, roundHalfEven(img.width * scale), roundHalfEven(img.height * scale));
    if (resized.width > padSize || resized.height > padSize) {
      throw new Error(`${this.where}: ResizeTableImage max_len ${maxLen} is larger than PaddingTableImage size ${padSize}`);
    }
    const chw = normalizeToChw(resized, normalize);
    const plane = padSize * padSize;
    const input = new Float32Array(3 * plane).fill(padValue);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < resized.height; y++) {
        const src = (c * resized.height + y) * resized.width;
        input.set(chw.subarray(src, src + resized.width), c * plane + y * padSize);
      }
    }
    return input;
  }

  async predict(img: RgbImage): Promise<TableStructure> {
    const { padSize, tokenTable, relativeToOriginal } = this.config;
    const input = new ort.Tensor('float32', this.prepare(img), [1, 3, padSize, padSize]);
    const outputs = await this.session.run({ [this.session.inputNames[0]!]: input });
    const boxes = outputs[this.session.outputNames[0]!]!;
    const probs = outputs[this.session.outputNames[1]!]!;
    const [, steps = 0, classes] = probs.dims;
    const boxLength = Number(boxes.dims[2]);
    if (probs.dims.length !== 3 || classes !== tokenTable.length || boxes.dims[1] !== steps) {
      throw new Error(
        `${this.where}: outputs are boxes [${boxes.dims.join(', ')}] and token probabilities [${probs.dims.join(', ')}]; ` +
          `the dictionary (PostProcess.character_dict plus sos/eos) has ${tokenTable.length} tokens`,
      );
    }
    return decodeTableStructure(probs.data as Float32Array, boxes.data as Float32Array, steps, tokenTable, boxLength, {
      paddedSize: [padSize, padSize],
      originalSize: [img.width, img.height],
      relativeToOriginal,
    });
  }
}
