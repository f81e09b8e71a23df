/**
 * PP-DocTranslation against PaddleX's behaviour: the prompt (expected texts written out from
 * PaddleX's generate_translate_prompt.py on its PP-DocTranslation.yaml), the Markdown split and
 * chunking (pipeline.py chunk_translate, utils.py), and the served pipeline end to end: a rendered
 * page parsed by PP-StructureV3 (layout fixture, real OCR), its Markdown translated by a local
 * OpenAI-compatible stub that records the prompts; upstream failures and their envelopes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePipelineConfig } from '../src/config/pipelineConfig.js';
import { type PromptBlock, readPromptBlock, TRANSLATE_TASK_TYPES, translatePrompt } from '../src/pipelines/shared/llm/prompts.js';
import { splitMarkdown, translateMarkdown } from '../src/pipelines/pp_doctranslation/translation.js';
import { API_KEY, CHAT_MODEL } from './helpers/chatocrFixtures.js';
import { docTranslationYaml } from './helpers/docTranslationFixtures.js';
import { layoutFixtureDir, PAGE_HEIGHT, PAGE_WIDTH, renderPage, RICH } from './helpers/layoutDocs.js';
import { type LlmStub, startLlmStub } from './helpers/llmStub.js';
import { REPO_ROOT } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

/** PaddleX's PP-DocTranslation.yaml texts as YAML folds them: task description, then rules, then output format. */
const BUILTIN_HEAD =
  '你是一位资深的多语种语言翻译专家，精通多种语言的语法、词汇、文化背景以及语言风格。你的任务是将文本从一种语言准确地转换为另一种语言，同时精准地保留原文的语义、风格和语调，确保翻译内容在目标语言中自然流畅且富有文化适应性。' +
  '通用规则： 1. 翻译应确保语义准确完整，并符合目标语言的表达习惯。 2. 保留原文的风格和语调，以传达相同的情感和意图。 3. 专有名词（如人名、地名、品牌名等）应保持不变，除非它们在目标语言中有公认的翻译。 4. 文化特定的表达或成语需根据目标语言的文化背景进行适当的转换或解释。 5. 避免使用机器翻译工具的简单直译，需根据上下文进行调整和优化。 6. 原文中可能包含的非文本元素（如HTML语法中的图片、表格、公式等）应保持不变。 7. 原文中可能包含的代码块，如编程语言代码等，应保持代码块的完整性，不要对代码进行调整。 8. 翻译完成后，应仔细校对，确保没有语法和拼写错误。' +
  '输出应为翻译后的文本，并与原文保持格式一致，包括标点符号和段落结构。如果原文中包含特定的格式（如表格、公式、列表等），翻译后的文本也应保持相同的格式。';
const PAD = ' '.repeat(16);
/** The tail of PaddleX's f-string, its indentation kept. */
const tail = (languageName: string, text: string) =>
  `下面正式开始:\n${PAD}\n将以下内容翻译成：${languageName}\n${PAD}\n原文：${text}\n${PAD}`;
const GLOSSARY_INTRO = '\n这里是一些专业术语对照表,如果遇到对照表中单词要参考对照表翻译：\n';

async function builtinBlock(): Promise<PromptBlock<'translate_prompt'>> {
  const file = path.join(REPO_ROOT, 'configs', 'PP-DocTranslation.yaml');
  const config = parsePipelineConfig(await readFile(file, 'utf8'), 'PP-DocTranslation');
  return readPromptBlock((config.SubModules as any).PromptEngneering.Translate_CommonText, 'Translate_CommonText', TRANSLATE_TASK_TYPES);
}

/** The text of each prompt the stub received (what follows 原文：). */
const originalTexts = (stub: LlmStub) => stub.prompts().map((p) => p.slice(p.indexOf('原文：') + 3, -(PAD.length + 1)));

/** The stub's translation: the original text in T(…), so the tests can follow each piece. */
const bracketing = (prompt: string) => `T(${prompt.slice(prompt.indexOf('原文：') + 3, -(PAD.length + 1))})`;

describe('translation prompt as PaddleX builds it', () => {
  test('built-in YAML, language code mapped to its Chinese name; an unknown language passes as given', async () => {
    const block = await builtinBlock();
    assert.equal(translatePrompt(block, 'Hello world.', 'en'), BUILTIN_HEAD + tail('英语', 'Hello world.'));
    assert.equal(translatePrompt(block, 'x', 'japanese'), BUILTIN_HEAD + tail('日语', 'x'));
    assert.equal(translatePrompt(block, 'x', 'Klingon'), BUILTIN_HEAD + tail('Klingon', 'x'));
  });

  test('request texts replace the YAML ones ("" too); examples and terms get their introductions', async () => {
    const block = await builtinBlock();
    const prompt = translatePrompt(block, 'x', 'zh', {
      task_description: 'TASK. ',
      rules_str: '',
      output_format: null,
      few_shot_demo_text_content: 'hi → 你好',
      few_shot_demo_key_value_list: 'LLM: 大语言模型\n',
    });
    const outputFormat = BUILTIN_HEAD.slice(BUILTIN_HEAD.indexOf('输出应为'));
    assert.equal(prompt, `TASK. ${outputFormat}这里是一些示例：\nhi → 你好\n${GLOSSARY_INTRO}LLM: 大语言模型\n\n${tail('简体中文', 'x')}`);
  });
});

describe('Markdown split and chunking as PaddleX does it', () => {
  test('paragraphs, fenced code, and top-level HTML printed back as BeautifulSoup prints it', () => {
    const md =
      '# Title\n\nA &amp; B <b>bold</b> end.\n\n\n<div style="text-align: center;"><img src="imgs/a.jpg" alt="Image" width="60%" /></div>\n\n' +
      '```python\nprint(1)\n\nprint(2)\n```\n\n<table><tr><td>a</td><td>b &lt; c</td></tr></table>\n\ntail';
    assert.deepEqual(splitMarkdown(md), [
      { type: 'text', content: '# Title' },
      // a paragraph holding an element becomes an html block; its text is decoded once by the parse
      { type: 'html', content: 'A & B <b>bold</b> end.' },
      // BeautifulSoup prints attributes sorted, a void element as <img .../>
      { type: 'html', content: '<div style="text-align: center;"><img alt="Image" src="imgs/a.jpg" width="60%"/></div>' },
      { type: 'code', content: '```python\nprint(1)\n\nprint(2)\n```' },
      { type: 'html', content: '<table><tr><td>a</td><td>b &lt; c</td></tr></table>' },
      { type: 'text', content: 'tail' },
    ]);
  });

  test('short paragraphs packed below chunkSize; long ones cut; code between its fences; table cells batched with __TD__', async () => {
    const calls: string[] = [];
    const translate = async (text: string) => {
      calls.push(text);
      return `T(${text})`;
    };
    const md = [
      'One two.',
      'Three four.',
      'Five six seven.',
      'A long paragraph. It has three sentences. The last one is here.',
      '```\nx = 1\n```',
      '<table><tr><th>Name</th><td>Value</td></tr><tr><td>Total sum</td><td>12</td></tr></table>',
    ].join('\n\n');
    const out = await translateMarkdown(md, 30, translate);
    assert.deepEqual(calls, [
      // "\n\nOne two." (10) + 11 < 30: packed; 23 + 15 ≥ 30: the third starts a new chunk
      'One two.\n\nThree four.',
      'Five six seven.',
      // 63 code points and no split character (a "." after a letter is no sentence end for PaddleX): cut at 30, then again
      'A long paragraph. It has three',
      'sentences. The last one is her',
      'e.',
      'x = 1',
      // cells while their inner HTML sums to at most 30 code points
      'Name__TD__Value__TD__Total sum__TD__12',
    ]);
    assert.equal(
      out,
      'T(One two.\n\nThree four.)\n\nT(Five six seven.)\n\nT(A long paragraph. It has three)T(sentences. The last one is her)T(e.)\n\n' +
        '```\nT(x = 1)\n```\n\n' +
        '<table><tr><th>T(Name</th><td>Value</td></tr><tr><td>Total sum</td><td>12)</td></tr></table>',
    );
  });

  test('long paragraphs halved at the sentence end nearest the middle (。！？； and a "." after a bracket), the split kept untranslated', async () => {
    const calls: string[] = [];
    const md = '第一句话很长很长。第二句话也很长！第三句？最后一句话在这里；结束。\n\nShort (a). Next (b). End (c).';
    const out = await translateMarkdown(md, 12, async (text) => {
      calls.push(text);
      return `T(${text})`;
    });
    assert.deepEqual(calls, [
      '第一句话很长很长',
      '第二句话也很长！第三句',
      '最后一句话在这里；结束。',
      'Short (a)',
      'Next (b)',
      'End (c).',
    ]);
    assert.equal(
      out,
      'T(第一句话很长很长)。T(第二句话也很长！第三句)？T(最后一句话在这里；结束。)\n\nT(Short (a)). T(Next (b)). T(End (c).)',
    );
  });

  test('strings outside cells go as an <ol> list and come back from its <li> items', async () => {
    const calls: string[] = [];
    const html = '<div><p>Hello</p><p>World &amp; more</p><span>!</span></div>';
    const out = await translateMarkdown(html, 100, async (text) => {
      calls.push(text);
      return text.replace('Hello', 'Bonjour').replace('World', 'Monde');
    });
    assert.deepEqual(calls, ['<ol><li>Hello</li><li>World & more</li><li>!</li></ol>']);
    // BeautifulSoup puts each item's inner HTML back as a string: its entities escaped once more
    assert.equal(out, '<div><p>Bonjour</p><p>Monde &amp;amp; more</p><span>!</span></div>');
  });
});

describe('PP-DocTranslation served', () => {
  let stub: LlmStub;
  let server: RunningServer;
  const logs: string[] = [];
  let markdown: { text: string; isStart: boolean; isEnd: boolean; images: Record<string, string> };
  let basePromptLength: number;

  before(async () => {
    stub = await startLlmStub();
    const layoutDir = await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH);
    server = await startServer({
      pipelines: [await docTranslationYaml(stub.baseUrl, layoutDir, { timeout: 0.5, max_retries: 1 })],
      log: (line) => logs.push(line),
      // one instance and no queue: a second request that needs the instance is refused at once
      maxQueue: 0,
    });
    basePromptLength = [...(BUILTIN_HEAD + tail('英语', ''))].length;
  });
  after(async () => {
    await server?.close();
    await stub?.close();
  });

  test('/doctrans-visual: PP-StructureV3 Markdown per page (doc preprocessing off by default)', async () => {
    const page = renderPage(PAGE_WIDTH, PAGE_HEIGHT, RICH).toString('base64');
    const res = await postJson(`${server.url}/doctrans-visual`, { file: page, fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.layoutParsingResults;
    assert.equal(result.outputImages, undefined);
    assert.equal(result.prunedResult.model_settings.use_doc_preprocessor, false);
    assert.equal(
      result.prunedResult.parsing_res_list.map((b: any) => b.block_label).join(),
      'doc_title,paragraph_title,text,text,image,figure_title,paragraph_title,text,text',
    );
    markdown = result.markdown;
    assert.match(markdown.text, /^# .+\n\n## 1 /);
    assert.equal(Object.keys(markdown.images).length, 1);
    const table = await postJson(`${server.url}/doctrans-visual`, { file: page, fileType: 1, useTableRecognition: true });
    assert.match(assertErrorEnvelope(table, 422), /Table recognition was requested, but this server has no table recognition loaded/);
  });

  test("/doctrans-translate: the page as chunks around its HTML blocks, each prompt PaddleX's; the answers joined back", async () => {
    stub.reset();
    stub.answer = bracketing;
    const res = await postJson(`${server.url}/doctrans-translate`, { markdownList: [markdown], targetLanguage: 'en' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const text = markdown.text;
    const figure = text.indexOf('<div');
    const caption = text.indexOf('<div', figure + 1);
    const afterCaption = text.indexOf('</div>', caption) + '</div>'.length;
    // paragraphs are the blank-line separated parts, stripped, packed with one blank line between them
    const packed = (part: string) =>
      part
        .split(/\n{2,}/)
        .map((p) => p.trim())
        .filter(Boolean)
        .join('\n\n');
    const expectedPieces = [
      packed(text.slice(0, figure)),
      // BeautifulSoup prints attributes sorted, the void element as <img .../>
      text
        .slice(figure, caption)
        .trim()
        .replace(/<img src="([^"]*)" alt="Image" width="([^"]*)" \/>/, '<img alt="Image" src="$1" width="$2"/>'),
      text.slice(caption, afterCaption),
      packed(text.slice(afterCaption)),
    ];
    assert.deepEqual(originalTexts(stub), expectedPieces);
    assert.deepEqual(
      stub.prompts(),
      expectedPieces.map((piece) => BUILTIN_HEAD + tail('英语', piece)),
    );
    assert.deepEqual((res.body as any).result, {
      translationResults: [
        { language: 'en', markdown: { text: expectedPieces.map((p) => `T(${p})`).join('\n\n'), isStart: true, isEnd: true } },
      ],
    });
    assert.deepEqual(
      { ...stub.requests[0]!.body, messages: undefined },
      { model: CHAT_MODEL, stream: false, temperature: 0.001, top_p: 0.001, messages: undefined },
    );
  });

  test('chunkSize counts the prompt: paragraphs packed while under chunkSize − prompt length; too small a chunkSize → 422', async () => {
    stub.reset();
    stub.answer = bracketing;
    const markdownList = [
      { text: 'Alpha beta.\n\nGamma delta.', isStart: true, isEnd: false },
      // continues the last paragraph of the page before: joined with a space
      { text: 'epsilon.\n\nZeta eta theta.', isStart: false, isEnd: true },
    ];
    const res = await postJson(`${server.url}/doctrans-translate`, {
      markdownList,
      targetLanguage: 'en',
      chunkSize: basePromptLength + 40,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // "\n\nAlpha beta." (13) + "Gamma delta. epsilon." (21) < 40: packed; + "Zeta eta theta." (15) is not
    assert.deepEqual(originalTexts(stub), ['Alpha beta.\n\nGamma delta. epsilon.', 'Zeta eta theta.']);
    const tooSmall = await postJson(`${server.url}/doctrans-translate`, {
      markdownList,
      targetLanguage: 'en',
      chunkSize: basePromptLength,
    });
    assert.match(
      assertErrorEnvelope(tooSmall, 422),
      new RegExp(`greater than the base prompt length \\(${basePromptLength}\\), but got ${basePromptLength}`),
    );
  });

  test('glossary joins the few-shot key-value list; request texts replace the YAML ones', async () => {
    stub.reset();
    stub.answer = bracketing;
    const res = await postJson(`${server.url}/doctrans-translate`, {
      markdownList: [{ text: 'LLMs read OCR output.', isStart: true, isEnd: true }],
      taskDescription: 'Translate. ',
      fewShotDemoKeyValueList: 'A: B',
      glossary: { LLM: '大语言模型', OCR: ['光学字符识别', '文字识别'] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rulesAndFormat = BUILTIN_HEAD.slice(BUILTIN_HEAD.indexOf('通用规则'));
    assert.deepEqual(stub.prompts(), [
      `Translate. ${rulesAndFormat}${GLOSSARY_INTRO}A: B\nLLM: 大语言模型\nOCR: 光学字符识别或文字识别\n\n${tail('简体中文', 'LLMs read OCR output.')}`,
    ]);
    assert.equal((res.body as any).result.translationResults[0].language, 'zh');
  });

  test('llmRequestInterval: that long before each LLM call', async () => {
    stub.reset();
    const times: number[] = [];
    stub.answer = (prompt) => {
      times.push(performance.now());
      return bracketing(prompt);
    };
    const started = performance.now();
    const markdownList = [{ text: '```\na\n```\n\n```\nb\n```\n\n```\nc\n```', isStart: true, isEnd: true }];
    const res = await postJson(`${server.url}/doctrans-translate`, { markdownList, llmRequestInterval: 0.25 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(times.length, 3);
    assert.ok(times[0]! - started >= 240, `first call after the interval: ${times[0]! - started} ms`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 240, `gap ${times[i]! - times[i - 1]!} ms`);
    assert.equal((res.body as any).result.translationResults[0].markdown.text, '```\nT(a)\n```\n\n```\nT(b)\n```\n\n```\nT(c)\n```');
  });

  test('request checks: null where PaddleX refuses it, an empty markdownList, a glossary that is not text → 422', async () => {
    const page = { text: 'x', isStart: true, isEnd: true };
    for (const body of [
      { markdownList: [page], targetLanguage: null },
      { markdownList: [page], chunkSize: null },
      { markdownList: [page], llmRequestInterval: null },
      { markdownList: [page], llmRequestInterval: -1 },
      { markdownList: [] },
      { markdownList: [{ text: 'x' }] },
      { markdownList: [page], glossary: { a: 1 } },
      { markdownList: [page], fewShotDemoKeyValueList: ['a'] },
    ]) {
      assertErrorEnvelope(await postJson(`${server.url}/doctrans-translate`, body), 422);
    }
  });

  test('a request-level chatBotConfig may not reach loopback, private or link-local addresses (no --allow-private-urls here)', async () => {
    stub.reset();
    const markdownList = [{ text: 'Hello.', isStart: true, isEnd: true }];
    const chatBotConfig = (base_url: string) => ({ model_name: 'm', base_url, api_type: 'openai', api_key: 'k' });
    for (const [baseUrl, host] of [
      [stub.baseUrl, /127\.0\.0\.1:\d+/],
      ['http://10.20.30.40:8000/v1', /10\.20\.30\.40:8000/],
      ['http://169.254.169.254/latest', /169\.254\.169\.254/],
      ['http://[::1]:8080/v1', /\[::1\]:8080/],
      [stub.baseUrl.replace('127.0.0.1', 'localhost'), /localhost: it resolves to a private\/loopback address/],
    ] as const) {
      const res = await postJson(`${server.url}/doctrans-translate`, { markdownList, chatBotConfig: chatBotConfig(baseUrl) });
      const message = assertErrorEnvelope(res, 422);
      assert.match(message, /^chatBotConfig\.base_url: refusing to connect to /);
      assert.match(message, host);
    }
    assert.equal(stub.requests.length, 0, 'nothing was sent');
  });

  test('translation takes no inference lane: it proceeds while the instance is busy and its queue full, and holds none while the LLM is slow', async () => {
    const page = renderPage(PAGE_WIDTH, PAGE_HEIGHT, RICH).toString('base64');
    stub.reset();
    stub.answer = bracketing;
    stub.script('/v1/chat/completions', { delayMs: 300, body: { choices: [{ message: { content: 'slow answer' } }] } });
    let visualDone = false;
    const visual = postJson(`${server.url}/doctrans-visual`, { file: page, fileType: 1, visualize: false }).then((res) => {
      visualDone = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // the only lane is taken: another visual request is refused
    assertErrorEnvelope(await postJson(`${server.url}/doctrans-visual`, { file: page, fileType: 1 }), 503);
    const translated = await postJson(`${server.url}/doctrans-translate`, {
      markdownList: [{ text: 'Hello.', isStart: true, isEnd: true }],
    });
    assert.equal(translated.status, 200, JSON.stringify(translated.body));
    assert.equal((translated.body as any).result.translationResults[0].markdown.text, 'slow answer');
    assert.equal(visualDone, false, 'the translation finished while the page was still being parsed');
    assert.equal((await visual).status, 200);

    // the other way round: while a translation waits on the LLM, the instance takes a visual request
    stub.reset();
    stub.answer = bracketing;
    stub.script('/v1/chat/completions', { delayMs: 400, body: { choices: [{ message: { content: 'late' } }] } });
    let translationDone = false;
    const slow = postJson(`${server.url}/doctrans-translate`, { markdownList: [{ text: 'Hello.', isStart: true, isEnd: true }] }).then(
      (res) => {
        translationDone = true;
        return res;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const admitted = postJson(`${server.url}/doctrans-visual`, { file: page, fileType: 1, visualize: false });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(translationDone, false);
    assert.equal((await admitted).status, 200);
    assert.equal((await slow).status, 200);
  });

  test('upstream failures: retries, then 502/504 envelopes naming the upstream; the server stays healthy', async () => {
    const body = { markdownList: [{ text: 'Hello.', isStart: true, isEnd: true }] };
    stub.reset();
    stub.answer = bracketing;
    stub.script('/v1/chat/completions', { status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '0' } });
    const retried = await postJson(`${server.url}/doctrans-translate`, body);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((retried.body as any).result.translationResults[0].markdown.text, 'T(Hello.)');
    assert.equal(stub.requests.length, 2);

    stub.reset();
    stub.script('/v1/chat/completions', ...Array.from({ length: 2 }, () => ({ status: 500, body: { error: `bad key ${API_KEY}` } })));
    const failed = assertErrorEnvelope(await postJson(`${server.url}/doctrans-translate`, body), 502);
    assert.match(
      failed,
      new RegExp(`model "${CHAT_MODEL}" at http://127\\.0\\.0\\.1:\\d+/v1 \\(SubModules\\.LLM_Chat\\) failed after 2 attempts: HTTP 500`),
    );
    assert.ok(!failed.includes(API_KEY));

    stub.reset();
    stub.script('/v1/chat/completions', { body: '<html>gateway</html>' }, { body: 'still not json' });
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/doctrans-translate`, body), 502),
      /the answer is not JSON: still not json/,
    );

    stub.reset();
    stub.script('/v1/chat/completions', { delayMs: 1500 }, { delayMs: 1500 });
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/doctrans-translate`, body), 504),
      /\(SubModules\.LLM_Chat\) failed after 2 attempts: no answer within 0\.5 s/,
    );

    stub.reset();
    stub.script('/v1/chat/completions', { body: { choices: [{ message: { role: 'assistant', content: null } }] } });
    assert.match(assertErrorEnvelope(await postJson(`${server.url}/doctrans-translate`, body), 502), /answered without content/);

    stub.reset();
    stub.answer = bracketing;
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const again = await postJson(`${server.url}/doctrans-translate`, body);
    assert.equal((again.body as any).result.translationResults[0].markdown.text, 'T(Hello.)');
    assert.ok(!logs.some((line) => line.includes(API_KEY)), 'no log line carries the API key');
  });
});
