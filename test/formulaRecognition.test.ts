/**
 * PaddleX's formula_recognition module and pipeline. The models are self-made ONNX with the I/O of
 * PaddleX's exports (helpers/formulaFixtures.ts): token ids out, chosen by how many rows of the
 * pre-processed input a rendered formula fills, so each test asserts the exact LaTeX that PaddleX's
 * tokenizer decode and normalisation make of a known token sequence. Decode and normalisation are
 * also checked on worked examples derived from PaddleX's processors.py.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { PDFDocument } from 'pdf-lib';
import { decodeImage } from '../src/io/codec.js';
import {
  LatexOcrDecoder,
  normalizeLatexOcr,
  normalizeUniMERNet,
  removeChineseTextWrapping,
  UniMERNetDecoder,
} from '../src/models/formulaDecode.js';
import { FormulaRecognizer, thumbnailSize } from '../src/models/formulaRecognition.js';
import { moduleOfModelName } from '../src/models/registry.js';
import { fixText } from '../src/ops/fixText.js';
import { nonWhiteArea, renderLatex } from '../src/vis/latex.js';
import { runCli } from './helpers/cli.js';
import { fixedBoxDetectorDir } from './helpers/docFixtures.js';
import { cpuRuntime, fixtureSubModule, fixtureTempRoot } from './helpers/fixtures.js';
import {
  docLayoutPlusYml,
  FIXTURE_TOKENIZER_CONFIG,
  fixtureTokenizer,
  formulaFixtureDir,
  formulaInferenceYml,
  formulaPipelineYaml,
  renderTallFormula,
  renderWideFormula,
  tokenIds,
} from './helpers/formulaFixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

/** E = m c ^ { 2 }, as the model emits it: <s> … </s>, then padding. */
const EMC2 = tokenIds(['<s>', 'E', 'Ġ=', 'Ġm', 'Ġc', 'Ġ^', 'Ġ{', 'Ġ2', 'Ġ}', '</s>']);
/** \frac { a + b } { 2 } */
const FRACTION = tokenIds(['<s>', '\\frac', 'Ġ{', 'Ġa', 'Ġ+', 'Ġb', 'Ġ}', 'Ġ{', 'Ġ2', 'Ġ}', '</s>']);
const EMC2_LATEX = 'E=m c^{2}';
const FRACTION_LATEX = '\\frac{a+b}{2}';

describe('formula post-process (PaddleX UniMERNetDecode / LaTeXOCRDecode)', () => {
  test('normalize: spaces go between non-letters and next to them, stay between letters and after "\\ "', () => {
    assert.equal(normalizeUniMERNet('\\frac { a + b } { 2 }'), '\\frac{a+b}{2}');
    assert.equal(normalizeUniMERNet('E = m c ^ { 2 }'), 'E=m c^{2}');
    assert.equal(normalizeUniMERNet('\\mathrm { d } x'), '\\mathrm{d}x');
    assert.equal(normalizeUniMERNet('a \\ b'), 'a\\ b');
    // Unicode letters are word characters for Python's \W: no rule joins them to a neighbour
    assert.equal(normalizeUniMERNet('面积 = a b'), '面积 =a b');
  });

  test('UniMERNet normalize: a command followed by a word inside a text command keeps its space, every other space goes', () => {
    assert.equal(normalizeUniMERNet('\\mathrm { \\alpha x } + 1'), '\\mathrm{\\alpha x}+1');
  });

  test('LaTeX-OCR post_process: spaces removed inside text commands first', () => {
    assert.equal(normalizeLatexOcr('\\mathrm {d} x + 1'), '\\mathrm{d}x+1');
    assert.equal(normalizeLatexOcr('\\text {a b} = c'), '\\text{ab}=c');
  });

  test('remove_chinese_text_wrapping unwraps \\text holding CJK and drops double quotes', () => {
    assert.equal(removeChineseTextWrapping('\\text { 面积 } = "a" b'), '面积 = a b');
    assert.equal(removeChineseTextWrapping('\\text { area } = a'), '\\text { area } = a');
  });

  test("fix_text's deterministic steps: quotes, ligatures, width, entities (not when the text has '<'), controls, NFC", () => {
    assert.equal(fixText('\u201ca\u201d \u2019 \ufb01 \uff21\uff22\u3000&amp; x\u0007'), '"a" \' fi AB & x');
    assert.equal(fixText('&amp; < b'), '&amp; < b');
    assert.equal(fixText('e\u0301\r\nf'), '\u00e9\nf');
    assert.equal(fixText('\u0080'), '€');
  });

  test('UniMERNetDecode: ids up to the first </s> (id 2), specials skipped, byte-level decoded, normalised', () => {
    const decoder = new UniMERNetDecoder({ tokenizer: fixtureTokenizer(), tokenizerConfig: FIXTURE_TOKENIZER_CONFIG });
    assert.equal(decoder.decode([...EMC2, 1, 1, ...tokenIds(['Ġa'])]), EMC2_LATEX);
    assert.equal(decoder.decode(FRACTION), FRACTION_LATEX);
    // an id the vocabulary lacks is skipped, as the Rust tokenizer's decode does; a leading Ġ stays a
    // leading space (the byte-level decoder keeps it and UniMERNetDecode strips nothing), unless a
    // command inside a text command made normalize drop every space of the formula (next line)
    assert.equal(decoder.decode([0, 999, ...tokenIds(['Ġa', 'Ġ+', 'Ġb']), 2]), ' a+b');
    assert.equal(decoder.decode([0, 2]), '');
    assert.equal(decoder.decode(tokenIds(['Ġ\\mathrm', 'Ġ{', 'Ġ\\alpha', 'Ġx', 'Ġ}', 'Ġ+', 'Ġa'])), '\\mathrm{\\alpha x}+a');
  });

  test('LaTeXOCRDecode: tokens joined by spaces (no decoder), spaces removed, Ġ turned into spaces, then post_process', () => {
    const decoder = new LatexOcrDecoder({ tokenizer: fixtureTokenizer(null) });
    assert.equal(decoder.decode([...EMC2, 1, 1]), EMC2_LATEX);
  });

  test("Pillow's thumbnail size: the rounding that keeps the aspect closest", () => {
    assert.deepEqual(thumbnailSize(1920, 384, 384, 384), [384, 77]);
    assert.deepEqual(thumbnailSize(384, 1000, 384, 384), [147, 384]);
    assert.equal(thumbnailSize(300, 200, 384, 384), undefined);
  });

  test('LaTeX is typeset (MathJax standing in for xelatex); what cannot be typeset is undefined, drawn as "Rendering Failed"', async () => {
    const typeset = (await renderLatex(FRACTION_LATEX))!;
    assert.ok(typeset.height > typeset.width / 3 && typeset.height > 40, `${typeset.width}×${typeset.height}`);
    assert.equal(await renderLatex('\\frac{a'), undefined);
  });

  test('every PaddleX formula model name maps to formula_recognition', () => {
    for (const name of [
      'PP-FormulaNet-S',
      'PP-FormulaNet-L',
      'PP-FormulaNet_plus-S',
      'PP-FormulaNet_plus-M',
      'PP-FormulaNet_plus-L',
      'UniMERNet',
      'LaTeX_OCR_rec',
    ]) {
      assert.equal(moduleOfModelName(name), 'formula_recognition', name);
    }
  });
});

/** Rows of content each kind's pre-processed input holds: below → the wide formula, above → the tall one. */
const ROWS_THRESHOLD: Record<string, number> = {
  'PP-FormulaNet_plus-M': 200,
  'PP-FormulaNet-L': 400,
  UniMERNet: 178,
  LaTeX_OCR_rec: 150,
};

describe('formula recognition models on rendered formulas', () => {
  for (const [modelName, rowsThreshold] of Object.entries(ROWS_THRESHOLD)) {
    test(`${modelName}: each formula gets its exact LaTeX`, async () => {
      const dir = await formulaFixtureDir(modelName, { wide: EMC2, tall: FRACTION, rowsThreshold });
      const model = await FormulaRecognizer.load(
        await fixtureSubModule('formula_recognition', dir, { batch_size: 5 }),
        cpuRuntime(),
        'SubModules.FormulaRecognition',
      );
      const images = await Promise.all(
        [renderWideFormula(), renderTallFormula(), renderWideFormula()].map((png) => decodeImage(png, 'f.png')),
      );
      assert.deepEqual(await model.predict(images), [EMC2_LATEX, FRACTION_LATEX, EMC2_LATEX]);
    });
  }

  test('max_length caps the token ids read per formula', async () => {
    const dir = await formulaFixtureDir('PP-FormulaNet_plus-M', { wide: EMC2, tall: FRACTION, rowsThreshold: 200 });
    const model = await FormulaRecognizer.load(
      await fixtureSubModule('formula_recognition', dir, { max_length: 4 } as any),
      cpuRuntime(),
      'SubModules.FormulaRecognition',
    );
    assert.deepEqual(await model.predict([await decodeImage(renderWideFormula(), 'f.png')]), ['E=m']);
  });

  test('an inference.yml with another post-process is refused, naming the setting', async () => {
    const yml = formulaInferenceYml('PP-FormulaNet_plus-M') as any;
    yml.PostProcess.name = 'LaTeXOCRDecode';
    const dir = await formulaFixtureDir('PP-FormulaNet_plus-M', { wide: EMC2, tall: FRACTION, rowsThreshold: 200 });
    await writeFile(path.join(dir, 'inference.yml'), JSON.stringify(yml));
    await assert.rejects(
      async () => FormulaRecognizer.load(await fixtureSubModule('formula_recognition', dir), cpuRuntime(), 'SubModules.FormulaRecognition'),
      /PostProcess.name: expected UniMERNetDecode/,
    );
  });
});

/** A 1000 × 900 page: prose on top, the wide formula at (100, 400), the tall one at (600, 600). */
async function formulaPage(): Promise<Buffer> {
  const prose = await renderTextImage(['The energy of a body at rest, and a mean:'], { fontSize: 28 });
  const canvas = createCanvas(1000, 900);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, 1000, 900);
  ctx.drawImage(await loadImage(Buffer.from(prose.png)), 40, 40);
  ctx.drawImage(await loadImage(renderWideFormula()), 100, 400);
  ctx.drawImage(await loadImage(renderTallFormula()), 600, 600);
  return canvas.toBuffer('image/png');
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('formula_recognition pipeline (/formula-recognition)', () => {
  let plain: RunningServer;
  let withLayout: RunningServer;
  let plainYaml: string;
  let page: Buffer;
  before(async () => {
    const formulaDir = await formulaFixtureDir('PP-FormulaNet_plus-M', { wide: EMC2, tall: FRACTION, rowsThreshold: 200 });
    plainYaml = await formulaPipelineYaml(formulaDir);
    plain = await startServer({ pipelines: [plainYaml] });
    const layout = await fixedBoxDetectorDir(
      'PP-DocLayout_plus-L',
      [
        { classId: 2, score: 0.95, box: [0.04, 0.04, 0.9, 0.12] },
        { classId: 7, score: 0.9, box: [0.1, 400 / 900, 0.52, 510 / 900] },
        { classId: 7, score: 0.85, box: [0.6, 600 / 900, 0.82, 790 / 900] },
      ],
      docLayoutPlusYml(),
    );
    withLayout = await startServer({ pipelines: [await formulaPipelineYaml(formulaDir, { layoutDir: layout })] });
    page = await formulaPage();
  });
  after(async () => {
    await plain?.close();
    await withLayout?.close();
  });

  test('without layout: the whole image is one formula; formula_res_img is the ink beside the typeset formula', async () => {
    const wide = renderWideFormula();
    const res = await postJson(`${plain.url}/formula-recognition`, { file: b64(wide), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { formulaRecResults, dataInfo } = (res.body as any).result;
    assert.deepEqual(dataInfo, { width: 420, height: 110, type: 'image' });
    const [result] = formulaRecResults;
    assert.deepEqual(result.prunedResult, {
      model_settings: { use_doc_preprocessor: false, use_layout_detection: false },
      formula_res_list: [{ rec_formula: EMC2_LATEX, formula_region_id: 1 }],
    });
    assert.deepEqual(Object.keys(result.outputImages), ['formula_res_img']);
    // PaddleX's layout: the image's ink scaled to the typeset formula's height, 10 px, the formula
    const drawn = await decodeImage(Buffer.from(result.outputImages.formula_res_img, 'base64'), 'x.jpg');
    const typeset = (await renderLatex(EMC2_LATEX))!;
    const [, , inkWidth, inkHeight] = nonWhiteArea(await decodeImage(wide, 'w.png'))!;
    assert.deepEqual(
      [drawn.width, drawn.height],
      [Math.trunc((typeset.height * inkWidth) / inkHeight) + typeset.width + 10, typeset.height],
    );
    assert.equal(typeof result.inputImage, 'string');
  });

  test('with layout: formula boxes are cropped and read, in layout order, with their boxes as PaddleX wraps them', async () => {
    const res = await postJson(`${withLayout.url}/formula-recognition`, { file: b64(page), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.formulaRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(Object.keys(pruned), ['model_settings', 'layout_det_res', 'formula_res_list']);
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_layout_detection: true });
    assert.deepEqual(
      pruned.layout_det_res.boxes.map((b: any) => [b.label, b.coordinate.map(Math.round)]),
      [
        ['text', [40, 36, 900, 108]],
        ['formula', [100, 400, 520, 510]],
        ['formula', [600, 600, 820, 790]],
      ],
    );
    assert.deepEqual(
      pruned.formula_res_list.map((f: any) => [f.rec_formula, f.formula_region_id, f.dt_polys.map((b: number[]) => b.map(Math.round))]),
      [
        [EMC2_LATEX, 1, [[100, 400, 520, 510]]],
        [FRACTION_LATEX, 2, [[600, 600, 820, 790]]],
      ],
    );
    assert.deepEqual(Object.keys(result.outputImages), ['layout_det_res', 'formula_res_img']);
    // page and formulas side by side; boxes tinted half-way to PaddleX's seeded colours, formulas typeset on the right
    const drawn = await decodeImage(Buffer.from(result.outputImages.formula_res_img, 'base64'), 'x.jpg');
    assert.deepEqual([drawn.width, drawn.height], [2000, 900]);
    const pixel = (x: number, y: number) => [...drawn.data.subarray((y * 2000 + x) * 3, (y * 2000 + x) * 3 + 3)];
    const firstColour = [197, 215, 20];
    pixel(105, 405).forEach((v, c) => assert.ok(Math.abs(v - (255 + firstColour[c]!) / 2) <= 8, `tint ${pixel(105, 405)}`));
    let dark = 0;
    for (let y = 402; y < 508; y++) for (let x = 1102; x < 1500; x++) if (pixel(x, y).every((v) => v < 100)) dark++;
    assert.ok(dark > 200, `typeset formula pixels in the first box: ${dark}`);
  });

  test('a PDF page goes through the shared document input', async () => {
    const pdf = await PDFDocument.create();
    const image = await pdf.embedPng(renderTallFormula());
    const pdfPage = pdf.addPage([300, 300]);
    pdfPage.drawImage(image, { x: 40, y: 60, width: 220, height: 190 });
    const res = await postJson(`${plain.url}/formula-recognition`, { file: b64(await pdf.save()), fileType: 0, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { formulaRecResults, dataInfo } = (res.body as any).result;
    assert.equal(dataInfo.type, 'pdf');
    assert.equal(dataInfo.numPages, 1);
    assert.equal(formulaRecResults[0].prunedResult.formula_res_list[0].rec_formula, FRACTION_LATEX);
    assert.equal(formulaRecResults[0].outputImages, undefined);
    assert.equal(formulaRecResults[0].inputImage, undefined);
  });

  test('layout params reach the layout model; visualize false draws nothing', async () => {
    const res = await postJson(`${withLayout.url}/formula-recognition`, {
      file: b64(page),
      fileType: 1,
      visualize: false,
      layoutThreshold: { 7: 0.88 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.formulaRecResults;
    assert.deepEqual(
      result.prunedResult.formula_res_list.map((f: any) => f.rec_formula),
      [EMC2_LATEX],
    );
    assert.equal(result.outputImages, undefined);
  });

  test('errors: a stage whose models are not loaded → 422 with PaddleX’s message; bad fields → 422', async () => {
    const file = b64(renderWideFormula());
    const doc = await postJson(`${plain.url}/formula-recognition`, { file, fileType: 1, useDocOrientationClassify: true });
    assert.match(assertErrorEnvelope(doc, 422), /the input params for model settings are invalid!.*DocOrientationClassify/);
    const layout = await postJson(`${plain.url}/formula-recognition`, { file, fileType: 1, useLayoutDetection: true });
    assert.match(assertErrorEnvelope(layout, 422), /the input params for model settings are invalid!.*LayoutDetection/);
    assertErrorEnvelope(await postJson(`${withLayout.url}/formula-recognition`, { file, fileType: 1, layoutMergeBboxesMode: 'huge' }), 422);
    assertErrorEnvelope(await postJson(`${withLayout.url}/formula-recognition`, { file, fileType: 1, layoutUnclipRatio: -1 }), 422);
  });

  test('--input predicts locally and saves formula_res_img', async () => {
    const dir = await mkdtemp(path.join(fixtureTempRoot(), 'formula-input-'));
    const input = path.join(dir, 'emc2.png');
    await writeFile(input, renderWideFormula());
    const out = path.join(dir, 'out');
    const run = await runCli(['--pipeline', plainYaml, '--input', input, '--save_path', out, '--workers', '1']);
    assert.equal(run.code, 0, run.stderr);
    const saved = JSON.parse(await readFile(path.join(out, 'emc2_res.json'), 'utf8'));
    assert.equal(saved.formulaRecResults[0].prunedResult.formula_res_list[0].rec_formula, EMC2_LATEX);
    const imageFile = saved.formulaRecResults[0].outputImages.formula_res_img;
    assert.deepEqual([...(await readFile(imageFile)).subarray(0, 2)], [0xff, 0xd8]);
  });
});
