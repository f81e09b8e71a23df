/**
 * PP-ChatOCRv3-doc / v4-doc served end to end: a rendered invoice read by the real OCR models and a
 * fixed-box layout model, the LLM, embeddings and MLLM served by a local OpenAI-compatible stub that
 * records what it receives; upstream failures and the envelopes they give.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type KieTaskType, kiePrompt, KIE_TASK_TYPES, type PromptBlock, readPromptBlock } from '../src/pipelines/shared/llm/prompts.js';
import { parsePipelineConfig } from '../src/config/pipelineConfig.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  answerFromPrompt,
  API_KEY,
  CHAT_MODEL,
  chatOcrYaml,
  EMBEDDING_MODEL,
  MLLM_MODEL,
  renderInvoice,
} from './helpers/chatocrFixtures.js';
import { renderStamp, sealDetectorFixtureDir, STAMP_TEXT } from './helpers/docFixtures.js';
import { docLayoutPlusYml, formulaFixtureDir, renderWideFormula, tokenIds } from './helpers/formulaFixtures.js';
import { keywordEmbedding, type LlmStub, startLlmStub } from './helpers/llmStub.js';
import { REPO_ROOT } from './helpers/paths.js';
import { renderTablePage, structureDir, TABLE_HEIGHT, TABLE_WIDTH, TABLE_WORDS, tableSteps } from './helpers/tableFixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

const TEXT_V1_HEAD =
  '你现在的任务是从OCR文字识别的结果中提取关键词列表中每一项对应的关键信息。 OCR的文字识别结果使用```符号包围，包含所识别出来的文字，顺序在原始图片中从左至右、从上至下。 我指定的关键词列表使用[]符号包围。请注意OCR的文字识别结果可能存在长句子换行被切断、不合理的分词、 文字被错误合并等问题，你需要结合上下文语义进行综合判断，以抽取准确的关键信息。在返回结果时使用JSON格式，包含多个key-value对，key值为我指定的问题，value值为该问题对应的答案。 如果认为OCR识别结果中，对于问题key，没有答案，则将value赋值为"未知"。请只输出json格式的结果， 并做json格式校验后返回，不要包含其它多余文字！';

// KIE_Table of configs/PP-ChatOCRv3-doc.yaml: task_description + output_format (YAML folds the line breaks into spaces)
const TABLE_V1_HEAD =
  '你现在的任务是从输入的表格内容中提取关键词列表中每一项对应的关键信息, 表格内容用```符号包围，我指定的关键词列表使用[]符号包围。你需要结合上下文语义进行综合判断，以抽取准确的关键信息。在返回结果时使用JSON格式，包含多个key-value对，key值为我指定的关键词，value值为所抽取的结果。 如果认为表格识别结果中没有关键词key对应的value，则将value赋值为"未知"。请只输出json格式的结果， 并做json格式校验后返回，不要包含其它多余文字！';

describe('PP-ChatOCRv3-doc', () => {
  let stub: LlmStub;
  let server: RunningServer;
  const logs: string[] = [];
  let invoice: string;
  let visualInfo: any[];

  before(async () => {
    stub = await startLlmStub();
    server = await startServer({
      pipelines: [await chatOcrYaml('PP-ChatOCRv3-doc', { llmBaseUrl: stub.baseUrl, timeout: 2 })],
      log: (line: string) => logs.push(line),
      // --allow-private-urls: request-level LLM configs may point at the loopback stub
      fetchLimits: { allowPrivate: true },
      // one instance and no queue: a second request that needs the instance is refused at once
      maxQueue: 0,
    });
    invoice = Buffer.from(await renderInvoice()).toString('base64');
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('/chatocr-visual: real OCR and the layout region become PaddleX parsing blocks and visualInfo', async () => {
    const res = await postJson(`${server.url}/chatocr-visual`, { file: invoice, fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { layoutParsingResults, visualInfo: info, dataInfo } = (res.body as any).result;
    assert.equal(dataInfo.type, 'image');
    const pruned = layoutParsingResults[0].prunedResult;
    assert.deepEqual(pruned.model_settings, {
      use_doc_preprocessor: false,
      use_seal_recognition: false,
      use_table_recognition: false,
      use_formula_recognition: false,
    });
    assert.deepEqual(
      pruned.parsing_res_list.map((b: any) => b.block_label),
      ['image', 'other_text', 'other_text', 'other_text'],
    );
    assert.equal(pruned.parsing_res_list[0].block_content, pruned.overall_ocr_res.rec_texts[0]);
    assert.deepEqual(Object.keys(layoutParsingResults[0].outputImages).sort(), ['layout_det_res', 'overall_ocr_res']);
    assert.ok(layoutParsingResults[0].inputImage);
    visualInfo = info;
    const normal = info[0].normal_text_dict;
    assert.deepEqual(Object.keys(normal), ['words in image', 'words in other_text']);
    assert.match(normal['words in image'], /ACME/);
    // PaddleX joins repeated labels with "\n "
    assert.equal(normal['words in other_text'], pruned.overall_ocr_res.rec_texts.slice(1).join('\n '));
    assert.deepEqual(info[0].table_html_list, []);
    assert.equal(info[0].table_nei_text_list, undefined);
  });

  test("/chatocr-chat: the prompt is PaddleX's, the stubbed LLM answer becomes chatResult (key list → values read from the page)", async () => {
    stub.reset();
    stub.answer = answerFromPrompt;
    const res = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Invoice', 'Total'], visualInfo });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as any).result.chatResult, { Invoice: 'INV-0815', Total: '1280.00' });
    const normal = visualInfo[0].normal_text_dict;
    const related = Object.entries(normal)
      .map(([type, text]) => `${type}：${(text as string).replaceAll('\n', '')}\n`)
      .join('');
    assert.deepEqual(stub.prompts(), [
      `${TEXT_V1_HEAD}\n结合上面的例子，下面正式开始：OCR文字：\`\`\`${related.replaceAll('    ', '')}\`\`\`关键词列表：[['Invoice', 'Total']]。`,
    ]);
    const request = stub.requests[0]!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.deepEqual(
      { ...request.body, messages: undefined },
      { model: CHAT_MODEL, stream: false, temperature: 0.001, top_p: 0.001, messages: undefined },
    );
    assert.equal(request.authorization, `Bearer ${API_KEY}`);
  });

  test('request prompt fields replace the YAML texts; "未知" answers are left out', async () => {
    stub.reset();
    stub.answer = () => '{"Invoice": "INV-0815", "Seller": "未知"}';
    const res = await postJson(`${server.url}/chatocr-chat`, {
      keyList: ['Invoice', 'Seller'],
      visualInfo,
      textTaskDescription: 'TASK ',
      textRulesStr: 'RULES ',
      textOutputFormat: '',
      textFewShotDemoKeyValueList: '{"Invoice": "X-1"}',
    });
    assert.deepEqual((res.body as any).result.chatResult, { Invoice: 'INV-0815' });
    assert.match(stub.prompts()[0]!, /^TASK RULES \{"Invoice": "X-1"\}\n结合上面的例子/);
  });

  test('/chatocr-vector + retrieval: long text is embedded; chat retrieves the chunk about the key', async () => {
    stub.reset();
    stub.embedding = keywordEmbedding(['Invoice', 'Total', 'Date', 'ACME']);
    const built = await postJson(`${server.url}/chatocr-vector`, { visualInfo, minCharacters: 10, blockSize: 40 });
    assert.equal(built.status, 200, JSON.stringify(built.body));
    const { vectorInfo } = (built.body as any).result;
    assert.equal(vectorInfo.flag_too_short_text, false);
    assert.equal(vectorInfo.model_name, EMBEDDING_MODEL);
    assert.equal(vectorInfo.block_size, 40);
    assert.equal(vectorInfo.vector.format, 'pipeserve-vector-store');
    const chunks: string[] = vectorInfo.vector.chunks;
    assert.ok(chunks.length > 2 && chunks.every((c) => [...c].length <= 40), JSON.stringify(chunks));
    assert.deepEqual(
      stub.requests.map((r) => [r.path, r.body.model, r.body.input.length]),
      [['/v1/embeddings', EMBEDDING_MODEL, chunks.length]],
    );

    stub.reset();
    stub.answer = answerFromPrompt;
    const res = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo, vectorInfo, minCharacters: 60 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as any).result.chatResult, { Total: '1280.00' });
    const content = stub.prompts()[0]!.match(/OCR文字：```([\s\S]*)```/)![1]!;
    const withTotal = chunks.filter((c) => c.includes('Total'));
    assert.ok(content.startsWith(withTotal.at(-1)!) || withTotal.some((c) => content.startsWith(c)), content);
    assert.ok(!content.includes('ACME'), `only chunks about the key: ${content}`);
  });

  test('short text: vectorInfo keeps the items, and chat sends them as they are', async () => {
    stub.reset();
    const built = await postJson(`${server.url}/chatocr-vector`, { visualInfo });
    const { vectorInfo } = (built.body as any).result;
    assert.deepEqual(Object.keys(vectorInfo), ['flag_save_bytes_vector', 'flag_too_short_text', 'vector']);
    assert.equal(vectorInfo.flag_too_short_text, true);
    assert.equal(stub.requests.length, 0);
  });

  test('request checks: PaddleX vectorInfo, null where PaddleX rejects it, empty keys, a bad chatBotConfig → 422', async () => {
    const paddlex = await postJson(`${server.url}/chatocr-chat`, {
      keyList: ['Total'],
      visualInfo,
      vectorInfo: {
        flag_too_short_text: false,
        flag_save_bytes_vector: true,
        model_name: 'embedding-v1',
        vector: 'PADDLEX_VECTOR_STORE' + 'gASV'.repeat(4),
      },
    });
    assert.match(assertErrorEnvelope(paddlex, 422), /built by PaddleX .*pickled FAISS/);
    assertErrorEnvelope(await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo, minCharacters: null }), 422);
    assertErrorEnvelope(await postJson(`${server.url}/chatocr-vector`, { visualInfo, blockSize: null }), 422);
    assertErrorEnvelope(await postJson(`${server.url}/chatocr-chat`, { keyList: [], visualInfo }), 422);
    assertErrorEnvelope(
      await postJson(`${server.url}/chatocr-chat`, { keyList: ['a'], visualInfo, textFewShotDemoKeyValueList: ['a'] }),
      422,
    );
    const badBot = await postJson(`${server.url}/chatocr-chat`, {
      keyList: ['Total'],
      visualInfo,
      chatBotConfig: { model_name: 'x', base_url: stub.baseUrl, api_type: 'qianfan', api_key: 'k' },
    });
    assert.match(assertErrorEnvelope(badBot, 422), /chatBotConfig\.api_type: must be one of openai/);
    const table = await postJson(`${server.url}/chatocr-visual`, { file: invoice, fileType: 1, useTableRecognition: true });
    assert.match(assertErrorEnvelope(table, 422), /Table recognition was requested, but it is off in this server/);
  });

  test('chat and vector requests take no inference lane: they proceed while the instance is busy and its queue full', async () => {
    stub.reset();
    stub.answer = answerFromPrompt;
    // the LLM answers after a short wait, and the page is read with its images drawn: chat and vector
    // must be answered while that read still holds the only instance (a lone page now runs on every core)
    stub.script('/v1/chat/completions', { delayMs: 50, body: { choices: [{ message: { content: '{"Total": "1280.00"}' } }] } });
    let visualDone = false;
    const visual = postJson(`${server.url}/chatocr-visual`, { file: invoice, fileType: 1, visualize: true }).then((res) => {
      visualDone = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertErrorEnvelope(await postJson(`${server.url}/chatocr-visual`, { file: invoice, fileType: 1 }), 503);
    const chat = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    assert.deepEqual((chat.body as any).result.chatResult, { Total: '1280.00' });
    const vector = await postJson(`${server.url}/chatocr-vector`, { visualInfo });
    assert.equal(vector.status, 200, JSON.stringify(vector.body));
    assert.equal(visualDone, false, 'chat and vector finished while the page was still being read');
    assert.equal((await visual).status, 200);
  });

  test('upstream failures: retries, then 502/504 envelopes naming the upstream; the server stays healthy', async () => {
    stub.reset();
    stub.answer = answerFromPrompt;
    // 429 then success: retried after the upstream's Retry-After
    stub.script('/v1/chat/completions', { status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '0' } });
    const retried = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.deepEqual((retried.body as any).result.chatResult, { Total: '1280.00' });
    assert.equal(stub.requests.length, 2);

    // 500 on every attempt (1 + max_retries 2)
    stub.reset();
    stub.script(
      '/v1/chat/completions',
      ...Array.from({ length: 3 }, () => ({ status: 500, body: { error: { message: `bad key ${API_KEY}` } } })),
    );
    const failed = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo });
    const message = assertErrorEnvelope(failed, 502);
    assert.match(
      message,
      new RegExp(`model "${CHAT_MODEL}" at http://127\\.0\\.0\\.1:\\d+/v1 \\(SubModules\\.LLM_Chat\\) failed after 3 attempts: HTTP 500`),
    );
    assert.ok(!message.includes(API_KEY), 'the key is blanked even when the upstream echoes it');
    assert.equal(stub.requests.length, 3);

    // a body that is not JSON
    stub.reset();
    stub.script('/v1/chat/completions', ...Array.from({ length: 3 }, () => ({ body: '<html>gateway</html>' })));
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo }), 502),
      /the answer is not JSON/,
    );

    // timeouts, with a request-level chatBotConfig (replaces the YAML's entirely)
    stub.reset();
    stub.script('/v1/chat/completions', { delayMs: 1500 }, { delayMs: 1500 });
    const chatBotConfig = {
      model_name: 'other-llm',
      base_url: stub.baseUrl,
      api_type: 'openai',
      api_key: 'sk-other',
      timeout: 0.3,
      max_retries: 1,
    };
    const timedOut = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo, chatBotConfig });
    assert.match(
      assertErrorEnvelope(timedOut, 504),
      /model "other-llm" .*\(chatBotConfig\) failed after 2 attempts: no answer within 0\.3 s/,
    );
    assert.deepEqual(
      stub.requests.map((r) => [r.body.model, r.authorization]),
      [
        ['other-llm', 'Bearer sk-other'],
        ['other-llm', 'Bearer sk-other'],
      ],
    );

    // the embeddings upstream, named as such
    stub.reset();
    stub.script('/v1/embeddings', ...Array.from({ length: 3 }, () => ({ status: 503, body: 'down' })));
    const vector = await postJson(`${server.url}/chatocr-vector`, { visualInfo, minCharacters: 10 });
    assert.match(
      assertErrorEnvelope(vector, 502),
      /model "stub-embedding" .*\(SubModules\.LLM_Retriever\) failed after 3 attempts: HTTP 503: down/,
    );

    stub.reset();
    stub.answer = answerFromPrompt;
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    const again = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Invoice'], visualInfo });
    assert.deepEqual((again.body as any).result.chatResult, { Invoice: 'INV-0815' });
    assert.ok(!logs.some((line) => line.includes(API_KEY)), 'no log line carries the API key');
  });
});

describe('PP-ChatOCRv4-doc', () => {
  let stub: LlmStub;
  let server: RunningServer;
  let invoice: string;
  let textV2: PromptBlock<KieTaskType>;

  before(async () => {
    stub = await startLlmStub();
    server = await startServer({
      pipelines: [await chatOcrYaml('PP-ChatOCRv4-doc', { llmBaseUrl: stub.baseUrl, timeout: 2 })],
      // one instance and no queue: a request that needs the instance while it is held is refused at once
      maxQueue: 0,
    });
    invoice = Buffer.from(await renderInvoice()).toString('base64');
    const config = parsePipelineConfig(await readFile(path.join(REPO_ROOT, 'configs', 'PP-ChatOCRv4-doc.yaml'), 'utf8'), 'v4');
    textV2 = readPromptBlock((config.SubModules as any).PromptEngneering.KIE_CommonText, 'KIE_CommonText', KIE_TASK_TYPES);
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('visual → mllm → chat with the integration strategy: v2 prompt, MLLM per key with the image, ensemble arbitration', async () => {
    const visual = await postJson(`${server.url}/chatocr-visual`, {
      file: invoice,
      fileType: 1,
      visualize: false,
      useTextlineOrientation: false,
    });
    assert.equal(visual.status, 200, JSON.stringify(visual.body));
    const { visualInfo, layoutParsingResults } = (visual.body as any).result;
    assert.equal(layoutParsingResults[0].outputImages, undefined);
    assert.deepEqual(visualInfo[0].table_nei_text_list, []);

    stub.reset();
    stub.answer = (prompt) => (prompt.startsWith('Total') ? '1,280.00 USD' : 'INV-0815');
    const mllm = await postJson(`${server.url}/chatocr-mllm`, { image: invoice, keyList: ['Invoice', 'Total'] });
    assert.equal(mllm.status, 200, JSON.stringify(mllm.body));
    const { mllmPredictInfo } = (mllm.body as any).result;
    assert.deepEqual(mllmPredictInfo, { Invoice: 'INV-0815', Total: '1,280.00 USD' });
    const first = stub.requests[0]!.body;
    assert.equal(first.model, MLLM_MODEL);
    assert.deepEqual(first.messages[0], { role: 'system', content: 'You are a helpful assistant.' });
    assert.equal(
      first.messages[1].content[0].text,
      'Invoice\n请用图片中完整出现的内容回答，可以是单词、短语或句子，针对问题回答尽可能详细和完整，并保持格式、单位、符号和标点都与图片中的文字内容完全一致。',
    );
    assert.match(first.messages[1].content[1].image_url.url, /^data:image\/jpeg;base64,\/9j\//);

    stub.reset();
    // KIE answers from the page; the ensemble prompt answers "方法B" for Total (the MLLM's reading)
    stub.answer = (prompt) =>
      prompt.includes('方法A的结果')
        ? prompt.includes('```Total```')
          ? '{"Total": "方法B"}'
          : '{"Invoice": "方法A"}'
        : answerFromPrompt(prompt);
    const res = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Invoice', 'Total'], visualInfo, mllmPredictInfo });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Invoice is the LLM's reading of the page's OCR (method A): with PaddleX's unclip_ratio 1.5 the
    // mobile models read the invoice number "1NV-0815", which the MLLM (method B) reads right
    const pageInvoice = Object.values(visualInfo[0].normal_text_dict)
      .join('\n')
      .match(/Invoice\s*[:：]\s*(\S+)/)![1]!;
    assert.match(pageInvoice, /^.NV-0815$/);
    assert.deepEqual((res.body as any).result.chatResult, { Invoice: pageInvoice, Total: '1,280.00 USD' });
    const prompts = stub.prompts();
    assert.equal(prompts.length, 3);
    const related = Object.entries(visualInfo[0].normal_text_dict)
      .map(([type, text]) => `${type}：${(text as string).replaceAll('\n', '')}\n`)
      .join('');
    assert.equal(prompts[0], kiePrompt(textV2, related, ['Invoice', 'Total']));
    assert.ok(prompts[0]!.endsWith(`\`\`\`\n问题列表：['Invoice', 'Total']。`));
    assert.match(
      prompts[2]!,
      /下面正式开始:\n {16}\n问题：```Total```\n {16}\n方法A的结果：1280\.00\n {16}\n方法B的结果：1,280\.00 USD\n {16}$/,
    );

    stub.reset();
    stub.answer = answerFromPrompt;
    const llmOnly = await postJson(`${server.url}/chatocr-chat`, {
      keyList: ['Total'],
      visualInfo,
      mllmPredictInfo,
      mllmIntegrationStrategy: 'llm_only',
    });
    assert.deepEqual((llmOnly.body as any).result.chatResult, { Total: '1280.00' });
    const mllmOnly = await postJson(`${server.url}/chatocr-chat`, {
      keyList: ['Total'],
      visualInfo,
      mllmPredictInfo,
      mllmIntegrationStrategy: 'mllm_only',
    });
    assert.deepEqual((mllmOnly.body as any).result.chatResult, mllmPredictInfo);
    assertErrorEnvelope(
      await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo, mllmIntegrationStrategy: 'vote' }),
      422,
    );
    assertErrorEnvelope(
      await postJson(`${server.url}/chatocr-chat`, { keyList: ['Total'], visualInfo, mllmIntegrationStrategy: null }),
      422,
    );
  });
  test('request-level base_urls may not reach loopback, private or link-local addresses without --allow-private-urls', async () => {
    stub.reset();
    const visualInfo = [
      { normal_text_dict: { 'words in text': 'Total: 9' }, table_text_list: [], table_html_list: [], table_nei_text_list: [] },
    ];
    const upstream = (base_url: string) => ({ model_name: 'm', base_url, api_type: 'openai', api_key: 'k' });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        '/chatocr-chat',
        { keyList: ['Total'], visualInfo, chatBotConfig: upstream(stub.baseUrl) },
        /chatBotConfig\.base_url: refusing to connect to 127\.0\.0\.1:\d+/,
      ],
      [
        '/chatocr-vector',
        { visualInfo, minCharacters: 1, retrieverConfig: upstream('http://10.1.2.3/v1') },
        /retrieverConfig\.base_url: refusing to connect to 10\.1\.2\.3/,
      ],
      [
        '/chatocr-mllm',
        {
          image: Buffer.from(await renderInvoice()).toString('base64'),
          keyList: ['Total'],
          mllmChatBotConfig: upstream('http://169.254.169.254/v1'),
        },
        /mllmChatBotConfig\.base_url: refusing to connect to 169\.254\.169\.254.*--allow-private-urls/,
      ],
      // a host name is checked when it is resolved
      [
        '/chatocr-chat',
        { keyList: ['Total'], visualInfo, chatBotConfig: upstream(stub.baseUrl.replace('127.0.0.1', 'localhost')) },
        /chatBotConfig\.base_url: refusing to connect to localhost: it resolves to a private\/loopback address/,
      ],
    ];
    for (const [endpoint, body, message] of cases) {
      assert.match(assertErrorEnvelope(await postJson(`${server.url}${endpoint}`, body), 422), message);
    }
    assert.equal(stub.requests.length, 0, 'nothing was sent');
  });

  test('/chatocr-mllm gives its lane back once the image is encoded: a visual request is admitted while the MLLM still answers', async () => {
    stub.reset();
    stub.script('/v1/chat/completions', { delayMs: 1500, body: { choices: [{ message: { content: 'INV-0815' } }] } });
    const mllm = postJson(`${server.url}/chatocr-mllm`, { image: invoice, keyList: ['Invoice'] });
    // the MLLM has the question: the image was encoded on the instance
    while (stub.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const visual = await postJson(`${server.url}/chatocr-visual`, {
      file: invoice,
      fileType: 1,
      visualize: false,
      useTextlineOrientation: false,
    });
    // held by /chatocr-mllm until the MLLM answered, the only lane would refuse this at once (503, no queue)
    assert.equal(visual.status, 200, JSON.stringify(visual.body));
    const answered = await mllm;
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.deepEqual((answered.body as any).result.mllmPredictInfo, { Invoice: 'INV-0815' });
  });
});

describe('PP-ChatOCRv3-doc with seal recognition', () => {
  let stub: LlmStub;
  let server: RunningServer;
  const stamp = renderStamp(600);

  before(async () => {
    stub = await startLlmStub();
    const sealDetDir = await sealDetectorFixtureDir(stamp.band);
    // the whole page is one `seal` region (RT-DETR-H_layout_3cls class 2)
    const layout = [{ classId: 2, score: 0.9, box: [0, 0, 1, 1] as [number, number, number, number] }];
    server = await startServer({ pipelines: [await chatOcrYaml('PP-ChatOCRv3-doc', { llmBaseUrl: stub.baseUrl, layout, sealDetDir })] });
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('a seal region is read by the SealOCR sub-pipeline: its texts joined with ", " under "words in seal"', async () => {
    const res = await postJson(`${server.url}/chatocr-visual`, { file: stamp.png.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { layoutParsingResults, visualInfo } = (res.body as any).result;
    const pruned = layoutParsingResults[0].prunedResult;
    assert.equal(pruned.model_settings.use_seal_recognition, true);
    assert.equal(pruned.seal_res_list.length, 1);
    assert.equal(pruned.seal_res_list[0].rec_texts.join('').trim(), STAMP_TEXT);
    const seal = pruned.parsing_res_list.find((b: any) => b.block_label === 'seal');
    assert.equal(seal.block_content, pruned.seal_res_list[0].rec_texts.join(', '));
    assert.equal(visualInfo[0].normal_text_dict['words in seal'], seal.block_content);
    assert.ok(layoutParsingResults[0].outputImages.seal_res_region1);
    const noSeal = await postJson(`${server.url}/chatocr-visual`, {
      file: stamp.png.toString('base64'),
      fileType: 1,
      useSealRecognition: false,
      visualize: false,
    });
    const blocks = (noSeal.body as any).result.layoutParsingResults[0].prunedResult.parsing_res_list;
    assert.deepEqual(blocks.find((b: any) => b.block_label === 'seal').block_content, '');
  });
});

/** A ChatOCR server whose layout fixture finds one `table` region (class 1) at `box` (page fractions), read by the SLANet_plus fixture. */
async function startTableChatOcr(
  name: 'PP-ChatOCRv3-doc' | 'PP-ChatOCRv4-doc',
  box: [number, number, number, number],
): Promise<{ stub: LlmStub; server: RunningServer }> {
  const stub = await startLlmStub();
  const tableStructureDir = await structureDir(tableSteps(), TABLE_WIDTH, TABLE_HEIGHT);
  const layout = [{ classId: 1, score: 0.9, box }];
  const server = await startServer({ pipelines: [await chatOcrYaml(name, { llmBaseUrl: stub.baseUrl, layout, tableStructureDir })] });
  return { stub, server };
}

describe('PP-ChatOCRv3-doc with table recognition', () => {
  let stub: LlmStub;
  let server: RunningServer;
  // the ruled table of tableFixtures 80 px down a 640 × 320 page, its title line above it
  const TABLE_TOP = 80;
  const page = renderTablePage({ width: TABLE_WIDTH, height: TABLE_TOP + TABLE_HEIGHT, top: TABLE_TOP, title: 'Fruit prices' });

  before(async () => {
    // one `table` region (RT-DETR-H_layout_3cls class 1) exactly over the table: the SLANet_plus fixture reads its crop
    ({ stub, server } = await startTableChatOcr('PP-ChatOCRv3-doc', [0, 0.25, 1, 1]));
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('table_html_list holds the table HTML; the chat stage asks the table prompt with it first, as PaddleX v3', async () => {
    const res = await postJson(`${server.url}/chatocr-visual`, { file: page.toString('base64'), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { layoutParsingResults, visualInfo } = (res.body as any).result;
    const pruned = layoutParsingResults[0].prunedResult;
    assert.equal(pruned.model_settings.use_table_recognition, true);
    assert.equal(pruned.table_res_list.length, 1);
    const [table] = pruned.table_res_list;
    // real OCR of the page: the lines inside the table, one per cell, in reading order
    assert.deepEqual(table.table_ocr_pred.rec_texts, TABLE_WORDS.flat());
    const html = `<html><body><table><tbody>${TABLE_WORDS.map((row) => `<tr>${row.map((w) => `<td>${w}</td>`).join('')}</tr>`).join('')}</tbody></table></body></html>`;
    assert.equal(table.pred_html, html);
    assert.equal(pruned.parsing_res_list.find((b: any) => b.block_label === 'table').block_content, html);
    assert.deepEqual(visualInfo[0].table_html_list, [html]);
    // PaddleX's decode_visual_result: the table's OCR lines joined by spaces
    assert.deepEqual(visualInfo[0].table_text_list, [TABLE_WORDS.flat().join(' ')]);
    assert.deepEqual(visualInfo[0].normal_text_dict, { 'words in other_text': 'Fruit prices' });

    stub.reset();
    stub.answer = (prompt) => (prompt.includes('表格内容') ? '{"Apple": "12"}' : '{}');
    const chat = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Apple'], visualInfo });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    assert.deepEqual((chat.body as any).result.chatResult, { Apple: '12' });
    // v3 asks the tables (HTML shorter than minCharacters − 500) before the text; the key answered, no text prompt follows
    assert.deepEqual(stub.prompts(), [`${TABLE_V1_HEAD}\n结合上面，下面正式开始：表格内容：\`\`\`${html}\`\`\`关键词列表：[['Apple']]。`]);
  });
});

describe('PP-ChatOCRv4-doc with table recognition', () => {
  let stub: LlmStub;
  let server: RunningServer;
  // a 640 × 480 page: the ruled table of tableFixtures 120 px down, text lines far above, just above, just below and far below it
  // (the near ones single words: with PaddleX's unclip_ratio 1.5 the mobile recogniser drops the spaces of a line)
  const TABLE_TOP = 120;
  const TABLE_BOTTOM = TABLE_TOP + TABLE_HEIGHT;
  const page = renderTablePage({
    width: TABLE_WIDTH,
    height: 480,
    top: TABLE_TOP,
    lines: [
      { text: 'Fruit prices', y: 30 },
      { text: 'CURRENCY', y: TABLE_TOP - 25 },
      { text: 'SEASONAL', y: TABLE_BOTTOM + 25 },
      { text: 'Page 1', y: 450 },
    ],
  });

  before(async () => {
    // one `table` region exactly over the table image: [0, 120, 640, 360]
    ({ stub, server } = await startTableChatOcr('PP-ChatOCRv4-doc', [0, 0.25, 1, 0.75]));
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test("table_nei_text_list: the page's lines overlapping the table's columns whose box ends within 15 px of its top or bottom edge, each + '; '", async () => {
    const res = await postJson(`${server.url}/chatocr-visual`, { file: page.toString('base64'), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { layoutParsingResults, visualInfo } = (res.body as any).result;
    const ocr = layoutParsingResults[0].prunedResult.overall_ocr_res;
    const lines = ['Fruit prices', 'CURRENCY', ...TABLE_WORDS.flat(), 'SEASONAL', 'Page 1'];
    assert.deepEqual(ocr.rec_texts, lines);
    // PaddleX's get_neighbor_boxes_idx on the table box [0, 120, 640, 360]: horizontal overlap > 0 and
    // -15 < min(y2) − max(y1) < 3. The lines just above and below end 6 px or so from the edge (the fixture's
    // point: well inside the band), the far ones 60 px or more, the cells' lines overlap it by their height.
    const vertical = (i: number) => Math.min(TABLE_BOTTOM, ocr.rec_boxes[i][3]) - Math.max(TABLE_TOP, ocr.rec_boxes[i][1]);
    assert.ok(vertical(1) > -12 && vertical(1) < 0, `CURRENCY: ${vertical(1)}`);
    assert.ok(vertical(8) > -12 && vertical(8) < 0, `SEASONAL: ${vertical(8)}`);
    assert.ok(vertical(0) < -15 && vertical(9) < -15);
    assert.deepEqual(visualInfo[0].table_nei_text_list, ['CURRENCY; SEASONAL; ']);
    assert.deepEqual(visualInfo[0].table_text_list, [TABLE_WORDS.flat().join(' ')]);
    assert.deepEqual(visualInfo[0].normal_text_dict, { 'words in other_text': 'Fruit prices\n CURRENCY\n SEASONAL\n Page 1' });

    // v4 asks the text first, then each table with its neighbour text appended
    stub.reset();
    stub.answer = (prompt) => (prompt.includes('表格内容') ? '{"Apple": "12"}' : '{}');
    const chat = await postJson(`${server.url}/chatocr-chat`, { keyList: ['Apple'], visualInfo, useVectorRetrieval: false });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    assert.deepEqual((chat.body as any).result.chatResult, { Apple: '12' });
    const html = layoutParsingResults[0].prunedResult.table_res_list[0].pred_html;
    const prompts = stub.prompts();
    assert.equal(prompts.length, 2);
    assert.ok(prompts[1]!.includes(`\`\`\`${html}\n 表格周围文字：CURRENCY; SEASONAL; \`\`\``), prompts[1]);
  });
});

describe('PP-ChatOCRv3-doc with formula recognition', () => {
  let stub: LlmStub;
  let server: RunningServer;
  // the page is the rendered E = mc², one PP-DocLayout_plus-L `formula` region (class 7) over all of it
  const page = renderWideFormula();

  before(async () => {
    stub = await startLlmStub();
    const formulaDir = await formulaFixtureDir('PP-FormulaNet-L', {
      wide: tokenIds(['<s>', 'E', 'Ġ=', 'Ġm', 'Ġc', 'Ġ^', 'Ġ{', 'Ġ2', 'Ġ}', '</s>']),
      tall: tokenIds(['<s>', 'E', '</s>']),
      rowsThreshold: 400,
    });
    const layout = [{ classId: 7, score: 0.9, box: [0, 0, 1, 1] as [number, number, number, number] }];
    server = await startServer({
      pipelines: [await chatOcrYaml('PP-ChatOCRv3-doc', { llmBaseUrl: stub.baseUrl, layout, layoutYml: docLayoutPlusYml(), formulaDir })],
    });
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('use_formula_recognition: the formula block holds its LaTeX, formula_res_list lists it; visualInfo leaves formulas out, as PaddleX', async () => {
    const res = await postJson(`${server.url}/chatocr-visual`, { file: page.toString('base64'), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { layoutParsingResults, visualInfo } = (res.body as any).result;
    const pruned = layoutParsingResults[0].prunedResult;
    assert.equal(pruned.model_settings.use_formula_recognition, true);
    // the page's OCR lines all lie in the formula region: none is left over as other_text
    assert.deepEqual(pruned.parsing_res_list, [{ block_bbox: [0, 0, 420, 110], block_label: 'formula', block_content: 'E=m c^{2}' }]);
    assert.deepEqual(pruned.formula_res_list, [{ rec_formula: 'E=m c^{2}', formula_region_id: 1, dt_polys: [[0, 0, 420, 110]] }]);
    assert.deepEqual(visualInfo[0], { normal_text_dict: {}, table_text_list: [], table_html_list: [] });

    // drawn: the formula model's own image per formula, after the page's images (PaddleX's LayoutParsingResult order)
    const drawn = await postJson(`${server.url}/chatocr-visual`, { file: page.toString('base64'), fileType: 1, visualize: true });
    assert.equal(drawn.status, 200, JSON.stringify(drawn.body));
    const images = (drawn.body as any).result.layoutParsingResults[0].outputImages;
    assert.deepEqual(Object.keys(images), ['layout_det_res', 'overall_ocr_res', 'formula_res_region1']);
    assert.match(images.formula_res_region1, /^\/9j\//);
  });
});
