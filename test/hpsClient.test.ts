/**
 * The HPS SDK's client.mjs against SDK servers started with server.sh: the flags of PaddleX's
 * per-pipeline client.py (deploy/hps/sdk/pipelines/<pipeline>/client/client.py), their usage errors,
 * and the requests they become.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeHpsSdk } from '../src/serving/triton/sdk.js';
import { answerFromPrompt, CHAT_MODEL, chatOcrYaml, MLLM_MODEL, renderInvoice } from './helpers/chatocrFixtures.js';
import { docTranslationYaml } from './helpers/docTranslationFixtures.js';
import { fixturePipelineYaml } from './helpers/fixtures.js';
import { layoutFixtureDir, PAGE_HEIGHT, PAGE_WIDTH, renderPage, RICH } from './helpers/layoutDocs.js';
import { startLlmStub } from './helpers/llmStub.js';
import { runSdkClient, type SdkServer, startSdkServer } from './helpers/hps.js';
import { groundingDinoFixtureDir } from './helpers/openVocabularyFixtures.js';
import { OPENCV_DATA, SHARED_MODELS, SKIMAGE_DATA } from './helpers/paths.js';
import { pictures, recognitionYaml } from './helpers/recognitionFixtures.js';
import { ppTsmFixtureDir } from './helpers/videoFixtures.js';

const newSdk = async (yaml: string) => writeHpsSdk(yaml, await mkdtemp(path.join(os.tmpdir(), 'hps-sdk-')));

/** Runs `body` with the SDK's server started, and stops it. */
async function withServer(sdk: string, body: (server: SdkServer) => Promise<void>): Promise<void> {
  const server = await startSdkServer(sdk);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

describe('client.mjs: the flags PaddleX’s client.py derives from the input', () => {
  test('time series: --csv and --no-visualization; the forecast CSV is saved', async () => {
    const co2 = path.join(SHARED_MODELS, 'ts', 'DLinear', 'test.csv');
    const sdk = await newSdk(await fixturePipelineYaml('ts_forecast', path.join(SHARED_MODELS, 'ts', 'DLinear')));
    const readme = await readFile(path.join(sdk, 'client', 'README.md'), 'utf8');
    assert.match(readme, /\| `--csv` \| `csv` \(path or URL\) \| string \| required \|/);
    assert.match(readme, /\| `--no-visualization` \| `visualize` = false \| boolean \| optional \|/);
    assert.match(readme, /\| `--url` \| — \| string \| default `localhost:8001` \|/);
    const missing = await runSdkClient(sdk, []);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^usage: client\.mjs \[-h\] --csv CSV \[--no-visualization\] \[--url URL\]\n/);
    assert.match(missing.stderr, /client\.mjs: error: the following arguments are required: --csv\n$/);
    await withServer(sdk, async (server) => {
      const run = await runSdkClient(sdk, ['--csv', co2, '--no-visualization', '--url', server.grpc]);
      assert.equal(run.code, 0, run.stderr);
      const printed = JSON.parse(run.stdout);
      assert.deepEqual(printed.savedFiles, ['output_csv.csv'], 'no image asked for, the CSV saved');
      const forecast = await readFile(path.join(run.cwd, 'output_csv.csv'), 'utf8');
      assert.equal(forecast.trim().split('\n').length, 97, 'a header and 96 forecast steps');
      const image = await runSdkClient(sdk, ['--csv', co2, `--url=${server.grpc}`]);
      assert.deepEqual(JSON.parse(image.stdout).savedFiles.sort(), ['output_csv.csv', 'output_image.jpg']);
    });
  });

  test('video: --video, no --no-visualization (PaddleX’s video client has none)', async () => {
    const sdk = await newSdk(await fixturePipelineYaml('video_classification', await ppTsmFixtureDir()));
    const unknown = await runSdkClient(sdk, ['--video', 'x.avi', '--no-visualization']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /error: unrecognized arguments: --no-visualization/);
    await withServer(sdk, async (server) => {
      const run = await runSdkClient(sdk, ['--video', path.join(OPENCV_DATA, 'tree.avi'), '--url', server.grpc]);
      assert.equal(run.code, 0, run.stderr);
      const printed = JSON.parse(run.stdout);
      assert.equal(printed.categories[0].name, 'green');
      assert.deepEqual(printed.savedFiles, []);
    });
  });
});

describe('client.mjs: the extra flags of PaddleX’s per-pipeline client.py', () => {
  test('open-vocabulary detection: --prompt is required and becomes the request’s prompt', async () => {
    const sdk = await newSdk(await fixturePipelineYaml('open_vocabulary_detection', await groundingDinoFixtureDir()));
    const chelsea = path.join(SKIMAGE_DATA, 'chelsea.png');
    assert.match(await readFile(path.join(sdk, 'client', 'README.md'), 'utf8'), /\| `--prompt` \| `prompt` \| string \| required \|/);
    const missing = await runSdkClient(sdk, ['--image', chelsea]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /usage: client\.mjs \[-h\] --image IMAGE --prompt PROMPT \[--no-visualization\] \[--url URL\]/);
    assert.match(missing.stderr, /error: the following arguments are required: --prompt\n$/);
    await withServer(sdk, async (server) => {
      const labels = async (prompt: string) => {
        const run = await runSdkClient(sdk, ['--image', chelsea, '--prompt', prompt, '--no-visualization', '--url', server.grpc]);
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout).detectedObjects.map((o: { categoryName: string }) => o.categoryName);
      };
      // the fixture model matches the words of the prompt it is given (helpers/openVocabularyFixtures.ts)
      assert.deepEqual(await labels('cat . remote control'), ['cat', 'remote control', 'cat remote']);
      assert.deepEqual(await labels('dog'), []);
      const empty = await runSdkClient(sdk, ['--image', chelsea, '--prompt', ' ', '--url', server.grpc]);
      assert.equal(empty.code, 1);
      assert.match(empty.stderr, /^Error code: 422\nError message: 1 validation error for InferRequest\nprompt\n {2}prompt is empty/);
    });
  });

  test('PP-ShiTuV2: PaddleX’s subcommands; --ids as integers, --image-label-pairs as pairs, --index-key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hps-shitu-'));
    // indexes in the test's directory, not the server's working directory
    const indexes = { index_storage: { type: 'file_system', directory: path.join(dir, 'indexes') } };
    const sdk = await newSdk(await recognitionYaml('PP-ShiTuV2', { extra: indexes }));
    const pics = await pictures();
    const file = async (name: string, b64: string) => {
      await writeFile(path.join(dir, name), Buffer.from(b64, 'base64'));
      return path.join(dir, name);
    };
    const gallery = ['cat', 'coffee', 'astronaut'];
    const pairs = (await Promise.all(gallery.map(async (l) => [await file(`${l}.png`, pics.gallery[l]!), l]))).flat();
    const catQuery = await file('cat-query.png', pics.query.cat!);

    const usage = async (args: string[], message: RegExp) => {
      const run = await runSdkClient(sdk, args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(
        run.stderr,
        /^usage: client\.mjs \[-h\] \[--url URL\] \[--no-visualization\] \{index-build,index-add,index-remove,infer\} \.\.\./,
      );
      assert.match(run.stderr, message);
    };
    await usage([], /error: the following arguments are required: \{index-build,index-add,index-remove,infer\}/);
    await usage(['index-remove', '--ids', '0'], /error: the following arguments are required: --index-key\n$/);
    await usage(['index-remove', '--ids', 'one', '--index-key', 'k'], /error: argument --ids: invalid int value: 'one'/);
    await usage(
      ['index-add', '--image-label-pairs', '--index-key', 'k'],
      /error: argument --image-label-pairs: expected at least one argument/,
    );
    await usage(['infer', '--image', catQuery, '--no-visualization'], /error: unrecognized arguments: --no-visualization/);
    await usage(['index-build', '--image-label-pairs', pairs[0]!], /The number of image-label pairs must be even\./);

    await withServer(sdk, async (server) => {
      const client = async (args: string[]) => {
        const run = await runSdkClient(sdk, ['--url', server.grpc, ...args]);
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout);
      };
      const built = await client(['index-build', '--image-label-pairs', ...pairs]);
      assert.equal(built.imageCount, 3);
      const indexKey: string = built.indexKey;
      const labels = async () => {
        const result = await client(['--no-visualization', 'infer', '--image', catQuery, '--index-key', indexKey]);
        assert.deepEqual(result.savedFiles, [], '--no-visualization before the command reached the request');
        return result.detectedObjects[0].recResults.map((r: { label: string }) => r.label);
      };
      assert.equal((await labels())[0], 'cat');
      // ids 0 (cat) and 2 (astronaut), sent as the integers PaddleX's `type=int, nargs="+"` makes
      assert.deepEqual(await client(['index-remove', '--ids', '0', '2', '--index-key', indexKey]), { imageCount: 1, savedFiles: [] });
      assert.ok(!(await labels()).includes('cat'), 'cat (id 0) was removed');
      assert.deepEqual(await client(['index-add', '--image-label-pairs', pairs[0]!, 'cat', '--index-key', indexKey]), {
        imageCount: 2,
        savedFiles: [],
      });
      assert.equal((await labels())[0], 'cat');
      const drawn = await client(['infer', '--image', catQuery, '--index-key', indexKey]);
      assert.deepEqual(drawn.savedFiles, ['output_image.jpg']);
    });
  });

  test('PP-ChatOCRv4-doc: --key-list and --invoke-mllm chain visual → vector → MLLM → chat, as PaddleX’s client does', async () => {
    const stub = await startLlmStub();
    try {
      // the MLLM reads each key off the image; the LLM answers the KIE prompts from the page's text and,
      // asked to arbitrate, picks the MLLM's reading (方法B): the result shows the MLLM step ran
      stub.answer = (prompt, body) => {
        if (body.model === MLLM_MODEL) return prompt.startsWith('Total') ? '1,280.00 USD' : 'INV-0815';
        const key = prompt.match(/问题：```(\w+)```/)?.[1];
        return key ? JSON.stringify({ [key]: '方法B' }) : answerFromPrompt(prompt);
      };
      const sdk = await newSdk(await chatOcrYaml('PP-ChatOCRv4-doc', { llmBaseUrl: stub.baseUrl }));
      const invoice = path.join(await mkdtemp(path.join(os.tmpdir(), 'hps-invoice-')), 'invoice.png');
      await writeFile(invoice, await renderInvoice());
      const missing = await runSdkClient(sdk, ['--file', invoice]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /error: the following arguments are required: --key-list/);
      await withServer(sdk, async (server) => {
        const run = await runSdkClient(sdk, [
          '--file',
          invoice,
          '--key-list',
          'Invoice',
          'Total',
          '--file-type',
          '1',
          '--no-visualization',
          '--invoke-mllm',
          '--url',
          server.grpc,
        ]);
        assert.equal(run.code, 0, run.stderr);
        const printed = JSON.parse(run.stdout);
        assert.deepEqual(printed.chatResult, { Invoice: 'INV-0815', Total: '1,280.00 USD' });
        assert.equal(printed.layoutParsingResults.length, 1);
        assert.deepEqual(printed.savedFiles, [], 'no images asked for');
        // the page's text is below minCharacters, so the vector step keeps it whole and asks for no embeddings
        const paths = stub.requests.map((r) => `${r.path} ${r.body.model}`);
        assert.ok(!paths.some((p) => p.includes('/embeddings')), paths.join('\n'));
        assert.equal(paths.filter((p) => p.endsWith(`chat/completions ${MLLM_MODEL}`)).length, 2, 'the MLLM asked once per key');
        assert.ok(paths.at(-1)!.endsWith(`chat/completions ${CHAT_MODEL}`), 'the chat comes last');
      });
    } finally {
      await stub.close();
    }
  });

  test('PP-DocTranslation: --target-language chains visual → translate and saves each page’s Markdown, images and translation', async () => {
    const stub = await startLlmStub();
    try {
      stub.answer = () => 'TRANSLATED';
      const layoutDir = await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH);
      const sdk = await newSdk(await docTranslationYaml(stub.baseUrl, layoutDir));
      const page = path.join(await mkdtemp(path.join(os.tmpdir(), 'hps-page-')), 'page.png');
      await writeFile(page, renderPage(PAGE_WIDTH, PAGE_HEIGHT, RICH));
      await withServer(sdk, async (server) => {
        const run = await runSdkClient(sdk, [
          '--file',
          page,
          '--file-type',
          '1',
          '--target-language',
          'en',
          '--no-visualization',
          '--url',
          server.grpc,
        ]);
        assert.equal(run.code, 0, run.stderr);
        const printed = JSON.parse(run.stdout);
        const dir = path.join(run.cwd, 'markdown_0');
        const original = await readFile(path.join(dir, 'doc.md'), 'utf8');
        assert.equal(original, printed.layoutParsingResults[0].markdown.text);
        assert.match(original, /^# .+\n\n## 1 /);
        assert.equal(printed.layoutParsingResults[0].markdown.images, undefined, 'images are saved, not sent for translation');
        const imageDir = path.join(dir, path.dirname(original.match(/<img src="([^"]+)"/)![1]!));
        assert.equal((await readdir(imageDir)).length, 1, 'the page’s one figure saved where its Markdown points');
        const translated = await readFile(path.join(dir, 'doc_translated.md'), 'utf8');
        assert.equal(translated, printed.translationResults[0].markdown.text);
        assert.match(translated, /TRANSLATED/);
        assert.ok(stub.prompts().length > 0 && stub.prompts().every((p) => p.includes('英语')), 'asked to translate into English');
      });
    } finally {
      await stub.close();
    }
  });
});
