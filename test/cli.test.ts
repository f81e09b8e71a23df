/**
 * The real `pipeserve` binary, spawned as a user would run it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { makePdf } from './helpers/inputs.js';
import { OPENCV_DATA, REPO_ROOT, SKIMAGE_DATA } from './helpers/paths.js';
import { postJson } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';
import { runCli, startServerProcess, type ServerProcess } from './helpers/cli.js';

const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'pipeserve-cli-'));

describe('pipeserve --serve --pipeline OCR', () => {
  let server: ServerProcess;
  let page: string;
  before(async () => {
    server = await startServerProcess(['--pipeline', 'OCR', '--workers', '1']);
    page = Buffer.from((await renderTextImage(['Hello pipeserve', 'Second line 42'], { fontSize: 32 })).png).toString('base64');
  });
  after(async () => {
    if (server.child.exitCode === null) await server.stop();
  });

  test('startup lines: models and where from, then uvicorn-style lines in order', () => {
    const log = server.log();
    const order = [
      /INFO: {5}Creating model: PP-OCRv4_mobile_det \(OCR: SubModules\.TextDetection\) from .*@gutenye\/ocr-models\/assets/,
      /INFO: {5}Creating model: PP-OCRv4_mobile_rec /,
      new RegExp(`INFO: {5}Started server process \\[${server.child.pid}\\]`),
      /INFO: {5}Application startup complete\./,
      /INFO: {5}pipeserve running on http:\/\/127\.0\.0\.1:\d+ \(Press CTRL\+C to quit\)/,
    ];
    let at = 0;
    for (const pattern of order) {
      const m = pattern.exec(log.slice(at));
      assert.ok(m, `missing or out of order: ${pattern}\n${log}`);
      at += m.index + m[0].length;
    }
  });

  test('one access-log line per request, none for /health', async () => {
    const before = server.log().length;
    await fetch(`${server.url}/health`);
    const res = await postJson(`${server.url}/ocr`, { file: page, fileType: 1, visualize: false });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.result.ocrResults[0].prunedResult.rec_texts, ['Hello pipeserve', 'Second line 42']);
    await server.waitForLog(/"POST \/ocr HTTP\/1\.1" 200 OK/);
    const added = server.log().slice(before);
    assert.match(added, /INFO: {5}127\.0\.0\.1:\d+ - "POST \/ocr HTTP\/1\.1" 200 OK/);
    assert.doesNotMatch(added, /health/);
  });

  test('SIGTERM lets the in-flight request finish, then exits 0', async () => {
    const inflight = postJson(`${server.url}/ocr`, { file: page, fileType: 1, visualize: true });
    await new Promise((r) => setTimeout(r, 100));
    server.child.kill('SIGTERM');
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(await server.exited, 0);
    assert.match(server.log(), /Application shutdown complete\.\s+INFO: {5}Finished server process/);
  });
});

describe('pipeserve with several pipelines on one port', () => {
  let server: ServerProcess;
  before(async () => {
    const classifier = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    const detector = await fixturePipelineYaml('object_detection', await detectorFixtureDir());
    server = await startServerProcess(['--pipeline', classifier, '--pipeline', detector, '--pipeline', 'OCR', '--workers', '1']);
  });
  after(() => server?.stop());

  test('every named pipeline answers on the same port', async () => {
    const cat = (await readFile(path.join(SKIMAGE_DATA, 'chelsea.png'))).toString('base64');
    const cls = await postJson(`${server.url}/image-classification`, { image: cat, visualize: false });
    assert.equal(cls.status, 200);
    assert.match(cls.body.result.categories[0].name, /cat|Tabby/i);
    const det = await postJson(`${server.url}/object-detection`, { image: cat, visualize: false });
    assert.equal(det.status, 200);
    assert.ok(det.body.result.detectedObjects.some((o: any) => o.categoryName === 'cat'));
    const ocr = await postJson(`${server.url}/ocr`, { file: cat, fileType: 1, visualize: false });
    assert.equal(ocr.status, 200);
  });
});

describe('pipeserve startup errors', () => {
  test('an unknown pipeline lists the available ones', async () => {
    const run = await runCli(['--serve', '--pipeline', 'no_such_pipeline']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Unknown pipeline "no_such_pipeline"/);
    for (const name of ['OCR', 'image_classification', 'object_detection', 'small_object_detection'])
      assert.match(run.stderr, new RegExp(name));
  });

  test('a missing model names the model, every path searched and how to make the dir', async () => {
    const home = await tempDir();
    const run = await runCli(['--serve', '--pipeline', 'object_detection'], { PIPESERVE_HOME: home });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Model "PicoDet-S" \(SubModules\.ObjectDetection, module object_detection\) was not found/);
    assert.ok(run.stderr.includes(path.join(home, 'models', 'PicoDet-S')));
    assert.match(run.stderr, /built-in catalog/);
    assert.match(run.stderr, /paddlex --paddle2onnx --paddle_model_dir/);
    assert.doesNotMatch(run.stderr, /Started server process/, 'no port is opened without models');
  });

  test('a model found in $PIPESERVE_HOME/models/<model_name> is used', async () => {
    const home = await tempDir();
    const { mkdir, symlink } = await import('node:fs/promises');
    await mkdir(path.join(home, 'models'));
    await symlink(await detectorFixtureDir(), path.join(home, 'models', 'PicoDet-S'));
    const image = path.join(OPENCV_DATA, 'messi5.jpg');
    const run = await runCli(['--pipeline', 'object_detection', '--input', image, '--workers', '1'], { PIPESERVE_HOME: home });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`Creating model: PicoDet-S .* from ${path.join(home, 'models', 'PicoDet-S').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    assert.ok(JSON.parse(run.stdout).detectedObjects.some((o: any) => o.categoryName === 'person'));
  });

  test('two pipelines with the same endpoint are a clear startup error', async () => {
    const run = await runCli(['--serve', '--pipeline', 'OCR', '--pipeline', 'OCR']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Endpoint \/ocr would be served twice/);
  });

  test('an invalid pipeline YAML names the key path', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'bad.yaml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, 'pipeline_name: OCR\nSubModules:\n  TextDetection:\n    module_name: text_detection\n    model_name: 42\n');
    const run = await runCli(['--serve', '--pipeline', file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /SubModules\.TextDetection\.model_name/);
  });

  test('--device gpu without a usable CUDA provider is an error, not a silent fallback', async () => {
    const run = await runCli(['--serve', '--pipeline', 'OCR', '--device', 'gpu:0']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--device gpu:0: .*CUDA/);
  });

  test('unknown flags are refused', async () => {
    const run = await runCli(['--serve', '--pipelin', 'OCR']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--pipelin/);
  });
});

describe('pipeserve one-shot commands', () => {
  test('--help documents every option', async () => {
    const run = await runCli(['--help']);
    assert.equal(run.code, 0);
    for (const flag of [
      '--serve',
      '--pipeline',
      '--device',
      '--host',
      '--port',
      '--use_hpip',
      '--workers',
      '--api-key',
      'PIPESERVE_API_KEY',
      '--allow-private-urls',
      '--max-body-mb',
      '--max-queue',
      '--input',
      '--save_path',
      '--get_pipeline_config',
      '--install',
    ]) {
      assert.ok(run.stdout.includes(flag), `--help lacks ${flag}`);
    }
  });

  test('--install serving says it is built in', async () => {
    const run = await runCli(['--install', 'serving']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /built into pipeserve/);
  });

  test('--get_pipeline_config writes the built-in YAML', async () => {
    const dir = await tempDir();
    const run = await runCli(['--get_pipeline_config', 'OCR', '--save_path', dir]);
    assert.equal(run.code, 0);
    const written = await readFile(path.join(dir, 'OCR.yaml'), 'utf8');
    assert.equal(written, await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
    assert.equal(YAML.parse(written).pipeline_name, 'OCR');
    const unknown = await runCli(['--get_pipeline_config', 'nope', '--save_path', dir]);
    assert.equal(unknown.code, 1);
  });

  test('--input predicts locally: classification prints JSON', async () => {
    const yaml = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    const run = await runCli(['--pipeline', yaml, '--input', path.join(OPENCV_DATA, 'orange.jpg'), '--workers', '1']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.categories[0].name, 'Orange');
    assert.ok(!('image' in result));
  });

  test('--input with --save_path writes the JSON and the visualisation (detection, directory input)', async () => {
    const yaml = await fixturePipelineYaml('object_detection', await detectorFixtureDir());
    const inputDir = await tempDir();
    const { copyFile } = await import('node:fs/promises');
    await copyFile(path.join(OPENCV_DATA, 'messi5.jpg'), path.join(inputDir, 'messi5.jpg'));
    await copyFile(path.join(SKIMAGE_DATA, 'chelsea.png'), path.join(inputDir, 'chelsea.png'));
    const out = await tempDir();
    const run = await runCli(['--pipeline', yaml, '--input', inputDir, '--save_path', out, '--workers', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['chelsea_image.jpg', 'chelsea_res.json', 'messi5_image.jpg', 'messi5_res.json']);
    const saved = JSON.parse(await readFile(path.join(out, 'messi5_res.json'), 'utf8'));
    assert.ok(saved.detectedObjects.some((o: any) => o.categoryName === 'person' && o.score >= 0.9));
    assert.equal(saved.image, path.join(out, 'messi5_image.jpg'));
    const jpeg = await readFile(path.join(out, 'messi5_image.jpg'));
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
  });

  test('--input OCR on a PDF writes results and page images', async () => {
    const dir = await tempDir();
    const pdfPath = path.join(dir, 'doc.pdf');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(pdfPath, await makePdf([['First page text'], ['Second page text']]));
    const out = path.join(dir, 'out');
    const run = await runCli(['--pipeline', 'OCR', '--input', pdfPath, '--save_path', out, '--workers', '1']);
    assert.equal(run.code, 0, run.stderr);
    const saved = JSON.parse(await readFile(path.join(out, 'doc_res.json'), 'utf8'));
    assert.equal(saved.dataInfo.type, 'pdf');
    assert.equal(saved.dataInfo.numPages, 2);
    assert.deepEqual(
      saved.ocrResults.map((r: any) => r.prunedResult.rec_texts.join(' ')),
      ['First page text', 'Second page text'],
    );
    const files = await readdir(out);
    for (const f of ['doc_ocrResults_0_ocrImage.jpg', 'doc_ocrResults_1_ocrImage.jpg', 'doc_ocrResults_0_inputImage.jpg'])
      assert.ok(files.includes(f), `${f} in ${files}`);
  });
});
