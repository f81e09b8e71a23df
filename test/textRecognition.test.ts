import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import type { ResolvedSubModule } from '../src/config/models.js';
import { ApiError, ConfigError } from '../src/errors.js';
import { rgbaToRgb } from '../src/io/codec.js';
import type { RgbImage } from '../src/io/image.js';
import { TextRecognizer } from '../src/models/textRecognition.js';
import { ctcGreedyDecode, float32Mean } from '../src/ops/ctcDecode.js';
import { cropImage } from '../src/ops/resize.js';
import type { RuntimeContext } from '../src/runtime/context.js';
import { visFont } from '../src/vis/fonts.js';
import { editDistance, withoutSpaces } from './helpers/cer.js';
import { cpuRuntime, resolveSubModule } from './helpers/fixtures.js';
import { SHARED_MODELS } from './helpers/paths.js';
import { decodeToRgb, findInkLines, renderTextImage } from './helpers/textImages.js';

describe('ctcGreedyDecode', () => {
  const characters = ['blank', 'a', 'b', ' '];
  /** One row per time step: the probability of each class. */
  const table = (rows: number[][]) => Float32Array.from(rows.flat());

  test('merges repeats, drops blanks and averages the kept probabilities', () => {
    const probs = table([
      [0.1, 0.8, 0.05, 0.05], // a
      [0.1, 0.6, 0.2, 0.1], // a (repeat, merged)
      [0.9, 0.05, 0.05, 0], // blank
      [0.2, 0.7, 0.1, 0], // a (after a blank: a new character)
      [0.1, 0.1, 0.5, 0.3], // b
      [0.05, 0.05, 0.9, 0], // b (repeat)
    ]);
    const { text, score } = ctcGreedyDecode(probs, 6, 4, 0, characters);
    assert.equal(text, 'aab');
    assert.ok(Math.abs(score - (0.8 + 0.7 + 0.5) / 3) < 1e-6, `score ${score}`);
  });

  test('decodes the space class and reads the requested batch row', () => {
    const row0 = [
      [0.9, 0.1, 0, 0],
      [0.9, 0.1, 0, 0],
    ];
    const row1 = [
      [0, 0.7, 0.3, 0], // a
      [0, 0, 0.4, 0.6], // space
      [0.3, 0, 0.7, 0], // b
    ];
    // Two rows of three steps each; row 0 is padded with a blank step.
    const probs = table([...row0, [1, 0, 0, 0], ...row1]);
    assert.deepEqual(ctcGreedyDecode(probs, 3, 4, 0, characters), { text: '', score: 0, columns: [] });
    const second = ctcGreedyDecode(probs, 3, 4, 1, characters);
    assert.equal(second.text, 'a b');
    // the time step each character was read at (PaddleX places word boxes by them)
    assert.deepEqual(second.columns, [0, 1, 2]);
    assert.ok(Math.abs(second.score - (0.7 + 0.6 + 0.7) / 3) < 1e-6);
  });

  test('keeps the first of equal maxima, as numpy argmax does', () => {
    assert.equal(ctcGreedyDecode(table([[0.1, 0.45, 0.45, 0]]), 1, 4, 0, characters).text, 'a');
    // a tie between blank and a character is a blank
    assert.equal(ctcGreedyDecode(table([[0.5, 0.5, 0, 0]]), 1, 4, 0, characters).text, '');
  });

  test('the score is the float32 mean numpy gives (pairwise float32 sum, then float32 division)', () => {
    const third = Math.fround(1 / 3);
    assert.equal(float32Mean([third, third, third]), Math.fround(Math.fround(Math.fround(third + third) + third) / 3));
    // 200 values: summed as two halves of 96 and 104 in blocks of eight, all in float32
    const values = Array.from({ length: 200 }, (_, i) => Math.fround(0.5 + ((i * 37) % 101) / 1000));
    const mean = float32Mean(values);
    assert.equal(mean, Math.fround(mean));
    const exact = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(mean - exact) < 1e-6, `${mean} vs ${exact}`);
    assert.equal(float32Mean([0.25]), 0.25);
  });

  test('refuses a character table that does not match the class count', () => {
    assert.throws(() => ctcGreedyDecode(new Float32Array(5), 1, 5, 0, characters), /5 classes but the character table has 4/);
  });
});

/** Character error rate over a set of lines, spaces ignored (the line breaks of a renderer and of a detector differ). */
function characterErrorRate(pairs: Array<{ expected: string; got: string }>): number {
  const errors = pairs.reduce((sum, p) => sum + editDistance(withoutSpaces(p.expected), withoutSpaces(p.got)), 0);
  const total = pairs.reduce((sum, p) => sum + [...withoutSpaces(p.expected)].length, 0);
  return errors / total;
}

/** Each rendered line cut out around its ink with a small margin, as a detector's box would. */
async function renderLineCrops(lines: string[], fontFamily: string, fontSize: number): Promise<RgbImage[]> {
  const page = await decodeToRgb((await renderTextImage(lines, { fontFamily, fontSize })).png);
  const boxes = findInkLines(page);
  assert.equal(boxes.length, lines.length, `${fontFamily} ${fontSize}px: expected ${lines.length} ink lines, found ${boxes.length}`);
  const margin = Math.round(fontSize * 0.25);
  return boxes.map((b) => cropImage(page, b.x0 - margin, b.y0 - margin, b.x1 - b.x0 + 2 * margin, b.y1 - b.y0 + 2 * margin));
}

/**
 * librsvg only sees fontconfig fonts, and no CJK font is installed system-wide, so the Chinese line
 * is drawn with @napi-rs/canvas in the bundled Noto Sans Hans (the visualisation font).
 */
function renderCanvasLine(text: string, fontSize: number): RgbImage {
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = visFont(fontSize);
  const width = Math.ceil(measure.measureText(text).width + fontSize);
  const height = Math.ceil(fontSize * 1.5);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = 'black';
  ctx.font = visFont(fontSize);
  ctx.textBaseline = 'middle';
  ctx.fillText(text, fontSize / 2, height / 2);
  return { width, height, data: rgbaToRgb(ctx.getImageData(0, 0, width, height).data) };
}

const ENGLISH_LINES = [
  'Invoice No. 2024-0917, total: $1,234.56',
  'Hello World 42',
  '(555) 867-5309 ext. 12',
  'Version 3.10.2 released!',
  'Meeting at 10:30am; room #4B',
  'user@example.com',
  'Order A1B2C3 shipped on 2023/11/05.',
  'Temperature: -4.5 C (feels like -9)',
];

function resolveRecognizer(params: { model_name: string; model_dir?: string; batch_size?: number }): ResolvedSubModule {
  return resolveSubModule({ module_name: 'text_recognition', ...params });
}

describe('TextRecognizer with PP-OCRv4_mobile_rec (height 48)', () => {
  let recognizer: TextRecognizer;
  before(async () => {
    recognizer = await TextRecognizer.load(
      resolveRecognizer({ model_name: 'PP-OCRv4_mobile_rec', batch_size: 6 }),
      cpuRuntime(),
      'SubModules.TextRecognition',
    );
  });

  test('reads rendered English lines in two fonts at 20-40 px', async () => {
    const pairs: Array<{ expected: string; got: string; score: number }> = [];
    for (const [fontFamily, fontSize] of [
      ['DejaVu Sans', 20],
      ['Liberation Serif', 26],
      ['DejaVu Sans', 32],
      ['Liberation Serif', 40],
    ] as const) {
      const results = await recognizer.predict(await renderLineCrops(ENGLISH_LINES, fontFamily, fontSize));
      results.forEach((r, i) => pairs.push({ expected: ENGLISH_LINES[i]!, got: r.text, score: r.score }));
    }
    const misread = pairs.filter((p) => withoutSpaces(p.expected) !== withoutSpaces(p.got));
    const cer = characterErrorRate(pairs);
    assert.ok(cer <= 0.01, `CER ${(cer * 100).toFixed(2)}%; misread: ${JSON.stringify(misread)}`);
    assert.ok(misread.length <= pairs.length / 8, `too many misread lines: ${JSON.stringify(misread)}`);
    for (const p of pairs) assert.ok(p.score > 0 && p.score <= 1, `score ${p.score} for ${p.expected}`);
  });

  test('reads a Chinese line', async () => {
    const line = '中文识别测试：共计128元，谢谢！';
    const [result] = await recognizer.predict([renderCanvasLine(line, 32)]);
    assert.equal(withoutSpaces(result!.text), withoutSpaces(line));
    assert.ok(result!.score > 0.8 && result!.score <= 1, `score ${result!.score}`);
  });

  test('batches of mixed widths give what each crop gives alone, in input order', async () => {
    const words = ['Hi', 'OK 7', 'Total: 42', 'Hello World 42', 'The quick brown fox', 'Version 3.10.2 released!'];
    const crops = [
      ...(await renderLineCrops(words, 'DejaVu Sans', 28)),
      ...(await renderLineCrops(
        ['A1', 'Invoice No. 2024-0917, total: $1,234.56', 'Meeting at 10:30am; room #4B on Friday 13th'],
        'Liberation Serif',
        24,
      )),
    ];
    assert.equal(crops.length, 9);
    const batched = await recognizer.predict(crops);
    assert.equal(recognizer.batchSize, 6);
    // Batches are formed from the crops sorted by aspect ratio; the last of each batch sets its width.
    const byRatio = crops.map((_, i) => i).sort((a, b) => crops[a]!.width / crops[a]!.height - crops[b]!.width / crops[b]!.height);
    const setsBatchWidth = new Set([byRatio[5]!, byRatio[8]!]);
    for (let i = 0; i < crops.length; i++) {
      const [alone] = await recognizer.predict([crops[i]!]);
      assert.equal(batched[i]!.text, alone!.text, `crop ${i}`);
      const drift = Math.abs(batched[i]!.score - alone!.score);
      if (setsBatchWidth.has(i)) {
        // same input tensor row alone and in the batch
        assert.ok(drift < 1e-6, `crop ${i} sets its batch's width: ${batched[i]!.score} vs ${alone!.score}`);
      } else {
        // Narrower crops get more padding in a batch than alone; the model's global mixing layers see
        // it, so scores move a little (measured: up to 1.2e-2 for the uncertain 'OK 7', mostly < 3e-3).
        assert.ok(drift < 0.02, `crop ${i}: ${batched[i]!.score} vs ${alone!.score}`);
      }
    }
    // The same crops in another order form the same sorted batches: results follow the input exactly.
    const permutation = [4, 8, 0, 6, 2, 7, 1, 5, 3];
    const permuted = await recognizer.predict(permutation.map((i) => crops[i]!));
    assert.deepEqual(
      permuted,
      permutation.map((i) => batched[i]),
    );
  });

  test('batch tensors: height 48, width from the widest ratio (at least 320, at most 3200), zero right padding', async () => {
    const inputs: Array<{ dims: readonly number[]; data: Float32Array }> = [];
    const base = cpuRuntime();
    const recording: RuntimeContext = {
      async loadSession(sub) {
        const session = await base.loadSession(sub);
        const run = session.run.bind(session);
        session.run = ((feeds: Record<string, { dims: readonly number[]; data: unknown }>, ...rest: unknown[]) => {
          inputs.push({ dims: feeds.x!.dims, data: feeds.x!.data as Float32Array });
          return (run as (...args: unknown[]) => ReturnType<typeof run>)(feeds, ...rest);
        }) as typeof session.run;
        return session;
      },
    };
    const sub = resolveRecognizer({ model_name: 'PP-OCRv4_mobile_rec', batch_size: 2 });
    const small = await TextRecognizer.load(sub, recording, 'SubModules.TextRecognition');
    const white = (width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(255) });
    // ratios 80, 2, 10: sorted into batches [2, 10] and [80]
    await small.predict([white(800, 10), white(40, 20), white(200, 20)]);
    assert.deepEqual(
      inputs.map((i) => i.dims),
      [
        [2, 3, 48, 480],
        [1, 3, 48, 3200],
      ],
    );
    // ratio 2 → 96 columns of white ((255/255 − 0.5) / 0.5 = 1), then zeros up to 480
    const firstRow = inputs[0]!.data.subarray(0, 480);
    assert.ok(firstRow.subarray(0, 96).every((v) => v === 1));
    assert.ok(firstRow.subarray(96).every((v) => v === 0));
    inputs.length = 0;
    await small.predict([white(40, 20)]);
    assert.deepEqual(inputs[0]!.dims, [1, 3, 48, 320]);
    // PaddleX's per-crop rule: ratio 10.01 gets int(48 × 10.01) = 480 columns (not ceil = 481), even
    // in a batch padded to 3200 by a longer line.
    inputs.length = 0;
    await small.predict([white(1001, 100), white(800, 10)]);
    assert.deepEqual(inputs[0]!.dims, [2, 3, 48, 3200]);
    const row = inputs[0]!.data.subarray(0, 3200);
    assert.ok(row.subarray(0, 480).every((v) => v === 1));
    assert.ok(row.subarray(480).every((v) => v === 0));
  });

  test('an empty crop is a client error (422)', async () => {
    await assert.rejects(recognizer.predict([{ width: 0, height: 10, data: new Uint8Array(0) }]), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 422);
      assert.match(err.message, /image 0 is empty/);
      return true;
    });
  });

  test('a dictionary that does not fit the model is refused at load time', async () => {
    const sub = resolveRecognizer({ model_name: 'PP-OCRv4_mobile_rec' });
    const post = sub.resolved.inferenceConfig.PostProcess;
    const wrongDict = {
      ...sub,
      resolved: {
        ...sub.resolved,
        inferenceConfig: { ...sub.resolved.inferenceConfig, PostProcess: { ...post, character_dict: post.character_dict.slice(1) } },
      },
    };
    await assert.rejects(TextRecognizer.load(wrongDict, cpuRuntime(), 'SubModules.TextRecognition'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /SubModules\.TextRecognition .*6625 classes.*6624/);
      return true;
    });
  });
});

describe('TextRecognizer with the PP-OCRv3 English model (height 32)', () => {
  test('reads English lines', async () => {
    const sub = resolveRecognizer({
      model_name: 'en_number_mobile_v2.0_rec',
      model_dir: path.join(SHARED_MODELS, 'PP-OCRv3_en/rec'),
      batch_size: 2,
    });
    const recognizer = await TextRecognizer.load(sub, cpuRuntime(), 'SubModules.TextRecognition');
    assert.equal(recognizer.batchSize, 2);
    const lines = ['The quick brown fox jumps over 13 lazy dogs.', 'Version 3.10.2 released!', 'user@example.com'];
    const results = await recognizer.predict(await renderLineCrops(lines, 'DejaVu Sans', 32));
    assert.deepEqual(
      results.map((r) => withoutSpaces(r.text)),
      lines.map(withoutSpaces),
    );
    for (const r of results) assert.ok(r.score > 0.5 && r.score <= 1, `score ${r.score}`);
  });

  test('a height that does not fit the model is refused at load time', async () => {
    const sub = resolveRecognizer({ model_name: 'en_number_mobile_v2.0_rec', model_dir: path.join(SHARED_MODELS, 'PP-OCRv3_en/rec') });
    const cfg = sub.resolved.inferenceConfig;
    const ops = cfg.PreProcess.transform_ops.map((op: Record<string, unknown>) =>
      'RecResizeImg' in op ? { RecResizeImg: { image_shape: [3, 48, 320] } } : op,
    );
    const wrongShape = { ...sub, resolved: { ...sub.resolved, inferenceConfig: { ...cfg, PreProcess: { transform_ops: ops } } } };
    await assert.rejects(
      TextRecognizer.load(wrongShape, cpuRuntime(), 'SubModules.TextRecognition'),
      /height 48 but the model's input has height 32/,
    );
  });
});
