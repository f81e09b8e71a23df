/**
 * PaddleX module `open_vocabulary_detection` with GroundingDINO (GroundingDINO-T/-B): an image and a
 * text prompt in, boxes labelled with the prompt's words out. Pre- and post-processing as PaddleX's
 * GroundingDINOProcessor / GroundingDINOPostProcessor
 * (paddlex/inference/models/open_vocabulary_detection/processors/groundingdino_processors.py).
 */
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError, invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import { normalizeToChw } from '../ops/normalize.js';
import { resizeImage } from '../ops/resize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { BertTokenizer } from './bertTokenizer.js';
import { InferenceConfigReader } from './common.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './preprocessOps.js';
import type { Box } from './objectDetection.js';

/** One box as PaddleX's open-vocabulary DetResult holds it: the prompt words it matched as its label. */
export interface GroundedBox {
  coordinate: Box;
  label: string;
  score: number;
}

/** `thresholds` as PaddleX's predictor merges them: keys other than these reach the post-processor and are ignored. */
export interface GroundingThresholds {
  box_threshold?: number | null;
  text_threshold?: number | null;
}

/** PaddleX's GroundingDinoImageProcessor always resizes to a shorter side of 800 capped at a longer side of 1333. */
const TARGET_SIZE = [800, 1333] as const;

const processorSchema = z.looseObject({
  type: z.literal('GroundingDINOProcessor'),
  text_max_words: z.number().int().positive().default(256),
  // PaddleX passes `target_size` on under a name its processor does not read, so it has no effect there either.
  target_size: z.unknown().optional(),
});

const configSchema = z.looseObject({
  Preprocess: z.array(z.looseObject({ type: z.string() })).min(1),
  box_threshold: z.number(),
  text_threshold: z.number(),
});

/** The 6 inputs of PaddleX's export, in the order its names sort (PaddleX feeds them by position). */
const INPUT_ORDER = ['attention_mask', 'input_ids', 'mask', 'position_ids', 'text_self_attention_masks', 'image'] as const;
type InputRole = (typeof INPUT_ORDER)[number];

/** [height, width] as GroundingDINO's get_size_with_aspect_ratio picks it for a shorter side `size` and a longer side ≤ `maxSize`. */
export function groundingResizeShape(width: number, height: number, size = TARGET_SIZE[0], maxSize = TARGET_SIZE[1]): [number, number] {
  const minOriginal = Math.min(width, height);
  const maxOriginal = Math.max(width, height);
  let target: number = size;
  if ((maxOriginal / minOriginal) * target > maxSize) target = Math.trunc(roundHalfEven((maxSize * minOriginal) / maxOriginal));
  if ((width <= height && width === target) || (height <= width && height === target)) return [height, width];
  if (width < height) return [Math.trunc((target * height) / width), target];
  return [target, Math.trunc((target * width) / height)];
}

/** What GroundingDinoTextProcessor makes of one prompt's token ids, cut to `maxWords` tokens. */
export interface TextInputs {
  inputIds: number[];
  attentionMask: number[];
  positionIds: number[];
  /** [tokens × tokens], row-major, 1 where token i may attend to token j */
  selfAttention: Uint8Array;
}

/**
 * generate_masks_with_special_tokens_and_transfer_map: each phrase between two special tokens
 * ([CLS], [SEP], '.', '?') attends only to itself and counts its positions from 0; the special
 * tokens at both ends attend to themselves only.
 */
export function groundingTextInputs(ids: readonly number[], specialIds: ReadonlySet<number>, maxWords: number): TextInputs {
  const n = ids.length;
  const attention = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) attention[i * n + i] = 1;
  const positions = new Array<number>(n).fill(0);
  let previous = 0;
  ids.forEach((id, col) => {
    if (!specialIds.has(id)) return;
    if (col === 0 || col === n - 1) {
      attention[col * n + col] = 1;
      positions[col] = 0;
    } else {
      for (let i = previous + 1; i <= col; i++) {
        for (let j = previous + 1; j <= col; j++) attention[i * n + j] = 1;
        positions[i] = i - previous - 1;
      }
    }
    previous = col;
  });
  const kept = Math.min(n, maxWords);
  const selfAttention = new Uint8Array(kept * kept);
  for (let i = 0; i < kept; i++) selfAttention.set(attention.subarray(i * n, i * n + kept), i * kept);
  return {
    inputIds: ids.slice(0, kept),
    attentionMask: ids.slice(0, kept).map((id) => (id !== 0 ? 1 : 0)),
    positionIds: positions.slice(0, kept),
    selfAttention,
  };
}

const sigmoid = (x: number) => Math.fround(1 / (1 + Math.exp(-x)));

export class GroundingDinoDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly tokenizer: BertTokenizer,
    private readonly maxWords: number,
    private readonly specialIds: ReadonlySet<number>,
    /** inference.yml's box_threshold / text_threshold */
    readonly defaults: { box_threshold: number; text_threshold: number },
    private readonly where: string,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<GroundingDinoDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const config = yml.parse(configSchema, yml.config, '');
    const last = config.Preprocess.at(-1)!;
    if (last.type !== 'GroundingDINOProcessor') {
      throw yml.error(
        'Preprocess',
        `the last step must be GroundingDINOProcessor (got ${last.type}); PaddleX runs GroundingDINO models only`,
      );
    }
    const processor = yml.parse(processorSchema, last, `Preprocess[${config.Preprocess.length - 1}]`);
    if (!sub.resolved.dir)
      throw new ConfigError(`${yml.where}: GroundingDINO needs a model directory (with tokenizer/ beside inference.yml)`);
    const tokenizer = BertTokenizer.fromDir(path.join(sub.resolved.dir, 'tokenizer'), yml.where);
    const session = await rt.loadSession(sub.resolved);
    if (session.inputNames.length !== INPUT_ORDER.length || session.outputNames.length < 2) {
      throw new ConfigError(
        `${yml.where}: inference.onnx has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
          'a GroundingDINO export takes attention_mask, input_ids, mask, position_ids, text_self_attention_masks and the image, and outputs boxes and logits',
      );
    }
    const specialIds = new Set(['[CLS]', '[SEP]', '.', '?'].map((t) => tokenizer.idOf(t)));
    return new GroundingDinoDetector(
      session,
      tokenizer,
      processor.text_max_words,
      specialIds,
      { box_threshold: config.box_threshold, text_threshold: config.text_threshold },
      yml.where,
    );
  }

  /** The prompt as the model reads it (PaddleX's pre_caption): trimmed, with a final '.'. */
  static caption(prompt: string): string {
    const trimmed = prompt.trim();
    return trimmed.endsWith('.') ? trimmed : `${trimmed}.`;
  }

  async predict(image: RgbImage, prompt: string, thresholds: GroundingThresholds = {}): Promise<GroundedBox[]> {
    const boxThreshold = thresholds.box_threshold ?? this.defaults.box_threshold;
    const textThreshold = thresholds.text_threshold ?? this.defaults.text_threshold;
    const ids = this.tokenizer.encode(GroundingDinoDetector.caption(prompt));
    // A deliberate difference: PaddleX cuts a longer prompt silently and then decodes words it never showed the model.
    if (ids.length > this.maxWords) {
      throw invalidInput(
        `prompt is ${ids.length} tokens long; the model reads at most ${this.maxWords} (text_max_words), special tokens included`,
      );
    }
    const text = groundingTextInputs(ids, this.specialIds, this.maxWords);
    const [height, width] = groundingResizeShape(image.width, image.height);
    const resized = await resizeImage(image, width, height, 1);
    const pixels = normalizeToChw(resized, { scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD, channelOrder: 'rgb' });

    const tokens = text.inputIds.length;
    const values: Record<InputRole, { data: ArrayLike<number>; dims: number[] }> = {
      attention_mask: { data: text.attentionMask, dims: [1, tokens] },
      input_ids: { data: text.inputIds, dims: [1, tokens] },
      // True marks padding in a batch of several sizes; one image has none
      mask: { data: new Uint8Array(height * width), dims: [1, height, width] },
      position_ids: { data: text.positionIds, dims: [1, tokens] },
      text_self_attention_masks: { data: text.selfAttention, dims: [1, tokens, tokens] },
      image: { data: pixels, dims: [1, 3, height, width] },
    };
    const feeds: Record<string, ort.Tensor> = {};
    INPUT_ORDER.forEach((role, k) => {
      const meta = this.session.inputMetadata[k]!;
      feeds[meta.name] = tensorOf(meta.isTensor ? meta.type : 'float32', values[role]);
    });
    const outputs = await this.session.run(feeds);
    const boxes = outputs[this.session.outputNames[0]!]!;
    const logits = outputs[this.session.outputNames[1]!]!;
    if (boxes.dims.length !== 3 || boxes.dims[2] !== 4 || logits.dims.length !== 3 || logits.dims[1] !== boxes.dims[1]) {
      throw new Error(
        `${this.where}: expected outputs boxes [1, Q, 4] and logits [1, Q, T], got [${boxes.dims.join(', ')}] and [${logits.dims.join(', ')}]`,
      );
    }
    return this.postprocess(
      boxes.data as Float32Array,
      logits.data as Float32Array,
      Number(logits.dims[2]),
      prompt,
      image,
      boxThreshold,
      textThreshold,
    );
  }

  /**
   * PaddleX's postprocess: keep the queries whose best token beats box_threshold; a query's label
   * is the decoded tokens of the request prompt (tokenized as sent, without the added '.') whose
   * score beats text_threshold; its box, centre/size in fractions, becomes corners in pixels.
   */
  private postprocess(
    boxes: Float32Array,
    logits: Float32Array,
    textLength: number,
    prompt: string,
    image: RgbImage,
    boxThreshold: number,
    textThreshold: number,
  ): GroundedBox[] {
    const promptIds = this.tokenizer.encode(prompt);
    const f = Math.fround;
    const found: GroundedBox[] = [];
    for (let q = 0; q < boxes.length / 4; q++) {
      const scores = Array.from(logits.subarray(q * textLength, (q + 1) * textLength), sigmoid);
      const best = Math.max(...scores);
      if (!(best > boxThreshold)) continue;
      // positions past the prompt's tokens (the model's padding) have no word to name
      const words = scores.flatMap((s, t) => (s > textThreshold && t < promptIds.length ? [promptIds[t]!] : []));
      const [cx, cy, w, h] = Array.from(boxes.subarray(q * 4, q * 4 + 4));
      const x1 = f(cx! - f(w! / 2));
      const y1 = f(cy! - f(h! / 2));
      const coordinate: Box = [f(x1 * image.width), f(y1 * image.height), f(f(w! + x1) * image.width), f(f(h! + y1) * image.height)];
      found.push({ coordinate, label: this.tokenizer.decode(words), score: best });
    }
    return found;
  }
}

/** A tensor of the element type the model declares for an input (PaddleX's export declares int64 masks; others bool). */
function tensorOf(type: string, { data, dims }: { data: ArrayLike<number>; dims: number[] }): ort.Tensor {
  switch (type) {
    case 'bool':
      return new ort.Tensor(
        'bool',
        Uint8Array.from(data, (v) => (v ? 1 : 0)),
        dims,
      );
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(v))), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(data), dims);
    default:
      return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
  }
}
