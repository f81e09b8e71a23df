import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../src/errors.js';
import { decodeImage } from '../src/io/codec.js';
import { BertTokenizer } from '../src/models/bertTokenizer.js';
import { GroundingDinoDetector, groundingResizeShape, groundingTextInputs } from '../src/models/openVocabularyDetection.js';
import { openVocabularyDetectionPipeline } from '../src/pipelines/open_vocabulary_detection/pipeline.js';
import { runCli } from './helpers/cli.js';
import {
  cpuRuntime,
  createWorkerOps,
  fixturePipelineConfig,
  fixturePipelineYaml,
  fixtureSubModule,
  readTestImage,
} from './helpers/fixtures.js';
import { GROUNDING_QUERIES, groundingDinoFixtureDir, TOKEN_ID } from './helpers/openVocabularyFixtures.js';
import { SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';

// The fixture imitates PaddleX's GroundingDINO-T export (see groundingDinoFixtureDir).
const CHELSEA = path.join(SKIMAGE_DATA, 'chelsea.png');
const f = Math.fround;

/** The box PaddleX's post-processor makes of a query's (cx, cy, w, h) fractions on a width × height image. */
function expectedBox([cx, cy, w, h]: readonly number[], width: number, height: number): number[] {
  const x1 = f(f(cx!) - f(f(w!) / 2));
  const y1 = f(f(cy!) - f(f(h!) / 2));
  return [f(x1 * width), f(y1 * height), f(f(f(w!) + x1) * width), f(f(f(h!) + y1) * height)];
}

function assertBox(got: readonly number[], want: readonly number[]): void {
  got.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 1e-3, `bbox ${got} vs ${want}`));
}

describe('BERT tokenizer from a PaddleNLP tokenizer/ folder', () => {
  let tokenizer: BertTokenizer;
  before(async () => {
    tokenizer = BertTokenizer.fromDir(path.join(await groundingDinoFixtureDir(), 'tokenizer'), 'test');
  });

  test('lower-cases, splits punctuation and symbols (as PaddleX, unlike plain BERT), word pieces, [CLS] … [SEP]', () => {
    const { '[CLS]': cls, '[SEP]': sep, '[UNK]': unk, cat, dog, remote, control, '.': dot, '?': q, '##s': s } = TOKEN_ID;
    assert.deepEqual(tokenizer.encode('Cats . Remote CONTROL?'), [cls, cat, s, dot, remote, control, q, sep]);
    // '€' is a currency symbol (Sc): PaddleX's BasicTokenizer cuts it off the word like punctuation
    assert.deepEqual(tokenizer.encode('dog€cat'), [cls, dog, unk, cat, sep]);
    assert.deepEqual(tokenizer.encode('  zebra  '), [cls, unk, sep]);
  });

  test('decode as PaddleX: word pieces joined, special tokens kept, " ." cleaned up', () => {
    const { '[CLS]': cls, '[SEP]': sep, cat, remote, control, '.': dot, '##s': s } = TOKEN_ID;
    assert.equal(tokenizer.decode([remote, s, control]), 'remotes control');
    assert.equal(tokenizer.decode([cls, cat, dot, sep]), '[CLS] cat. [SEP]');
    assert.equal(tokenizer.decode([]), '');
  });

  test('a folder without vocab.txt is a ConfigError naming the file', () => {
    assert.throws(
      () => BertTokenizer.fromDir(os.tmpdir(), 'SubModules.OpenVocabularyDetection'),
      (err: Error) => err instanceof ConfigError && /vocab\.txt is missing/.test(err.message),
    );
  });
});

describe('GroundingDINO pre-processing (PaddleX GroundingDINOProcessor)', () => {
  test('resize: shorter side 800, longer side at most 1333 (Python round), as [height, width]', () => {
    assert.deepEqual(groundingResizeShape(640, 480), [800, 1066]);
    // 2000/500·800 > 1333 → size int(round(1333·500/2000)) = round(333.25) = 333
    assert.deepEqual(groundingResizeShape(2000, 500), [333, 1332]);
    assert.deepEqual(groundingResizeShape(800, 1000), [1000, 800]);
    assert.deepEqual(groundingResizeShape(451, 300), [800, 1202]);
  });

  test('text: each phrase between special tokens attends to itself, positions restart after each', () => {
    const { '[CLS]': cls, '[SEP]': sep, cat, remote, control, '.': dot } = TOKEN_ID;
    const ids = [cls, cat, dot, remote, control, dot, sep];
    const text = groundingTextInputs(ids, new Set([cls, sep, dot]), 256);
    assert.deepEqual(text.inputIds, ids);
    assert.deepEqual(text.attentionMask, [1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(text.positionIds, [0, 0, 1, 0, 1, 2, 0]);
    const rows = Array.from({ length: 7 }, (_, i) => Array.from(text.selfAttention.subarray(i * 7, i * 7 + 7)).join(''));
    assert.deepEqual(rows, ['1000000', '0110000', '0110000', '0001110', '0001110', '0001110', '0000001']);
    // cut to text_max_words as PaddleX does
    const cut = groundingTextInputs(ids, new Set([cls, sep, dot]), 4);
    assert.deepEqual(cut.positionIds, [0, 0, 1, 0]);
    assert.equal(cut.selfAttention.length, 16);
  });
});

describe('GroundingDINO-T-shaped fixture on a real photo', () => {
  test('prompt words name the boxes; thresholds from inference.yml, the YAML, then the request', async () => {
    const config = await fixturePipelineConfig('open_vocabulary_detection', await groundingDinoFixtureDir());
    const ops = await createWorkerOps(openVocabularyDetectionPipeline, config);
    const photo = await readTestImage(CHELSEA);
    const image = new Uint8Array(await readFile(CHELSEA));
    const result = await ops.predict({ image, prompt: 'cat . remote control', visualize: false });
    assert.deepEqual(
      result.detectedObjects.map((o) => [o.categoryName, Number(o.score.toFixed(4))]),
      [
        ['cat', 0.9],
        ['remote control', 0.6],
        ['cat remote', 0.32],
      ],
    );
    result.detectedObjects.forEach((o, k) => {
      assert.deepEqual(Object.keys(o), ['bbox', 'categoryName', 'score']);
      assertBox(o.bbox, expectedBox(GROUNDING_QUERIES[k]!.box, photo.width, photo.height));
    });
    // text_threshold 0.3 drops 'remote' (0.27) from the third box's name; box_threshold 0.5 drops the box
    const stricterText = await ops.predict({
      image,
      prompt: 'cat . remote control',
      thresholds: { text_threshold: 0.3 },
      visualize: false,
    });
    assert.equal(stricterText.detectedObjects[2]!.categoryName, 'cat');
    const stricterBox = await ops.predict({
      image,
      prompt: 'cat . remote control',
      thresholds: { box_threshold: 0.5, other: 1 },
      visualize: false,
    });
    assert.deepEqual(
      stricterBox.detectedObjects.map((o) => o.categoryName),
      ['cat', 'remote control'],
    );
    // 'dog' scores 0.2: under the default box threshold, found with a lower one
    assert.deepEqual((await ops.predict({ image, prompt: 'dog', visualize: false })).detectedObjects, []);
    // its token scores 0.2, under text_threshold 0.25: PaddleX names such a box '' (no word matched)
    const unnamed = await ops.predict({ image, prompt: 'dog', thresholds: { box_threshold: 0.1 }, visualize: false });
    assert.deepEqual(
      unnamed.detectedObjects.map((o) => o.categoryName),
      [''],
    );
    const dog = await ops.predict({ image, prompt: 'dog', thresholds: { box_threshold: 0.1, text_threshold: 0.15 }, visualize: false });
    assert.deepEqual(
      dog.detectedObjects.map((o) => o.categoryName),
      ['dog'],
    );
    assertBox(dog.detectedObjects[0]!.bbox, expectedBox(GROUNDING_QUERIES[3]!.box, photo.width, photo.height));

    const yamlThresholds = await fixturePipelineConfig('open_vocabulary_detection', await groundingDinoFixtureDir(), {
      thresholds: { box_threshold: 0.5, text_threshold: 0.25 },
    });
    const yamlOps = await createWorkerOps(openVocabularyDetectionPipeline, yamlThresholds);
    assert.equal((await yamlOps.predict({ image, prompt: 'cat . remote control', visualize: false })).detectedObjects.length, 2);
  });

  test('the label comes from the prompt as sent, its words at the positions the model matched', async () => {
    const model = await GroundingDinoDetector.load(
      await fixtureSubModule('open_vocabulary_detection', await groundingDinoFixtureDir()),
      cpuRuntime(),
      'SubModules.OpenVocabularyDetection',
    );
    assert.deepEqual(model.defaults, { box_threshold: 0.3, text_threshold: 0.25 });
    const photo = await readTestImage(CHELSEA);
    // "a cat": the cat token sits at position 2 now
    assert.deepEqual(
      (await model.predict(photo, 'a cat')).map((b) => b.label),
      ['cat', 'cat'],
    );
    assert.equal(GroundingDinoDetector.caption('  cat '), 'cat.');
    assert.equal(GroundingDinoDetector.caption('cat.'), 'cat.');
  });

  test('visualization: a JPEG of the photo size with the boxes drawn', async () => {
    const config = await fixturePipelineConfig('open_vocabulary_detection', await groundingDinoFixtureDir());
    const ops = await createWorkerOps(openVocabularyDetectionPipeline, config);
    const result = await ops.predict({ image: new Uint8Array(await readFile(CHELSEA)), prompt: 'cat', visualize: true });
    const photo = await readTestImage(CHELSEA);
    const drawn = await decodeImage(result.image!, 'drawn');
    assert.deepEqual([drawn.width, drawn.height], [photo.width, photo.height]);
  });

  test('a model dir without tokenizer/ is a ConfigError naming what is missing', async () => {
    const dir = await groundingDinoFixtureDir();
    const copy = await mkdtemp(path.join(os.tmpdir(), 'gdino-no-tok-'));
    await cp(dir, copy, { recursive: true });
    await rm(path.join(copy, 'tokenizer'), { recursive: true });
    await assert.rejects(
      GroundingDinoDetector.load(
        await fixtureSubModule('open_vocabulary_detection', copy),
        cpuRuntime(),
        'SubModules.OpenVocabularyDetection',
      ),
      (err: Error) => err instanceof ConfigError && /tokenizer[/\\]vocab\.txt is missing/.test(err.message),
    );
    await rm(copy, { recursive: true });
  });
});

describe('/open-vocabulary-detection', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await fixturePipelineYaml('open_vocabulary_detection', await groundingDinoFixtureDir())] });
  });
  after(() => server?.close());

  test('POST: PaddleX fields, image when Serving.visualize (no visualize request field)', async () => {
    const image = (await readFile(CHELSEA)).toString('base64');
    const res = await postJson(`${server.url}/open-vocabulary-detection`, {
      image,
      prompt: 'cat . remote control',
      thresholds: { box_threshold: 0.5 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.deepEqual(Object.keys(res.body.result), ['detectedObjects', 'image']);
    assert.deepEqual(
      res.body.result.detectedObjects.map((o: { categoryName: string }) => o.categoryName),
      ['cat', 'remote control'],
    );
    assert.equal(typeof res.body.result.image, 'string');
  });

  test('bad prompts and thresholds are 422 envelopes naming the field', async () => {
    const image = (await readFile(CHELSEA)).toString('base64');
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ image }, /prompt/],
      [{ image, prompt: '' }, /prompt is empty/],
      [{ image, prompt: '   ' }, /prompt is empty/],
      [{ image, prompt: 42 }, /prompt/],
      [{ image, prompt: ['cat'] }, /prompt/],
      [{ image, prompt: 'cat '.repeat(600) }, /"prompt".*less than or equal to 2000/],
      // 300 words are 303 tokens with [CLS], '.' and [SEP]: more than the model's 256
      [{ image, prompt: 'cat '.repeat(300) }, /303 tokens long; the model reads at most 256/],
      [{ image, prompt: 'cat', thresholds: { box_threshold: 'high' } }, /thresholds/],
      [{ image, prompt: 'cat', thresholds: [0.3] }, /thresholds/],
    ];
    for (const [body, message] of bad) {
      const res = await postJson(`${server.url}/open-vocabulary-detection`, body);
      assert.match(assertErrorEnvelope(res, 422), message, JSON.stringify(body).slice(0, 80));
    }
  });
});

describe('--input', () => {
  test('--prompt and --thresholds reach the request; results and drawing saved', async () => {
    const yaml = await fixturePipelineYaml('open_vocabulary_detection', await groundingDinoFixtureDir());
    const out = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ovd-input-'));
    const run = await runCli([
      '--pipeline',
      yaml,
      '--input',
      CHELSEA,
      '--save_path',
      out,
      '--prompt',
      'cat . remote control',
      '--thresholds',
      '{"box_threshold": 0.5}',
      '--workers',
      '1',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const saved = JSON.parse(await readFile(path.join(out, 'chelsea_res.json'), 'utf8'));
    assert.deepEqual(
      saved.detectedObjects.map((o: { categoryName: string }) => o.categoryName),
      ['cat', 'remote control'],
    );
    assert.ok((await readdir(out)).some((name) => name.endsWith('.jpg')));
    const missing = await runCli(['--pipeline', yaml, '--input', CHELSEA, '--workers', '1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /prompt/);
  });
});
