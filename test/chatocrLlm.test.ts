/**
 * PP-ChatOCR's LLM pieces against PaddleX's behaviour, without a server: prompts (expected texts
 * produced by PaddleX's generate_prompt code on configs/PP-ChatOCRv3-doc.yaml), answer parsing
 * (expected values produced by PaddleX's fix_llm_result_format), Python repr, the text splitter and
 * the vector store.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, ConfigError } from '../src/errors.js';
import { parsePipelineConfig } from '../src/config/pipelineConfig.js';
import { ppChatOcrV4Pipeline } from '../src/pipelines/pp_chatocrv4_doc/pipeline.js';
import { parseLlmAnswer } from '../src/pipelines/shared/llm/answerParser.js';
import { readLlmEndpoint } from '../src/pipelines/shared/llm/openaiClient.js';
import { ensemblePrompt, kiePrompt, KIE_TASK_TYPES, readPromptBlock } from '../src/pipelines/shared/llm/prompts.js';
import { pythonListRepr, pythonStrip } from '../src/pipelines/shared/llm/pythonText.js';
import { splitText } from '../src/pipelines/shared/llm/textSplitter.js';
import { buildVectorInfo, readVectorInfo, retrieveRelatedText } from '../src/pipelines/shared/llm/vectorStore.js';
import { keywordEmbedding, startLlmStub } from './helpers/llmStub.js';
import { REPO_ROOT } from './helpers/paths.js';

async function builtinPrompts(name: string) {
  const config = parsePipelineConfig(await readFile(path.join(REPO_ROOT, 'configs', `${name}.yaml`), 'utf8'), name);
  return (config.SubModules as Record<string, any>).PromptEngneering;
}

describe('prompts as PaddleX builds them', () => {
  test('v1 text prompt from the built-in YAML: folded YAML texts, Python repr of the keys, runs of 4 spaces removed', async () => {
    const pe = await builtinPrompts('PP-ChatOCRv3-doc');
    const block = readPromptBlock(pe.KIE_CommonText, 'KIE_CommonText', KIE_TASK_TYPES);
    const prompt = kiePrompt(block, 'words in other_text：Invoice: INV-0815 Total:     1280.00\n', [
      'Invoice',
      "Buyer's name",
      'Total\xa0sum',
    ]);
    assert.equal(
      prompt,
      "你现在的任务是从OCR文字识别的结果中提取关键词列表中每一项对应的关键信息。 OCR的文字识别结果使用```符号包围，包含所识别出来的文字，顺序在原始图片中从左至右、从上至下。 我指定的关键词列表使用[]符号包围。请注意OCR的文字识别结果可能存在长句子换行被切断、不合理的分词、 文字被错误合并等问题，你需要结合上下文语义进行综合判断，以抽取准确的关键信息。在返回结果时使用JSON格式，包含多个key-value对，key值为我指定的问题，value值为该问题对应的答案。 如果认为OCR识别结果中，对于问题key，没有答案，则将value赋值为\"未知\"。请只输出json格式的结果， 并做json格式校验后返回，不要包含其它多余文字！\n结合上面的例子，下面正式开始：OCR文字：```words in other_text：Invoice: INV-0815 Total: 1280.00\n```关键词列表：[['Invoice', \"Buyer's name\", 'Total\\xa0sum']]。",
    );
  });

  test('v1 table prompt with request overrides (rules, few-shot key-value list as a string)', async () => {
    const pe = await builtinPrompts('PP-ChatOCRv3-doc');
    const block = readPromptBlock(pe.KIE_Table, 'KIE_Table', KIE_TASK_TYPES);
    const prompt = kiePrompt(block, '<table><tr><td>Total</td><td>9</td></tr></table>', ['Total'], {
      rules_str: 'RULES. ',
      few_shot_demo_key_value_list: '{"k": "v"}',
      task_description: null,
    });
    assert.equal(
      prompt,
      '你现在的任务是从输入的表格内容中提取关键词列表中每一项对应的关键信息, 表格内容用```符号包围，我指定的关键词列表使用[]符号包围。你需要结合上下文语义进行综合判断，以抽取准确的关键信息。RULES. 在返回结果时使用JSON格式，包含多个key-value对，key值为我指定的关键词，value值为所抽取的结果。 如果认为表格识别结果中没有关键词key对应的value，则将value赋值为"未知"。请只输出json格式的结果， 并做json格式校验后返回，不要包含其它多余文字！{"k": "v"}\n结合上面，下面正式开始：表格内容：```<table><tr><td>Total</td><td>9</td></tr></table>```关键词列表：[[\'Total\']]。',
    );
  });

  test('v2 prompts (PP-ChatOCRv4) and the ensemble prompt', () => {
    const texts = {
      task_description: 'T',
      rules_str: 'R',
      output_format: 'O',
      few_shot_demo_text_content: 'D',
      few_shot_demo_key_value_list: 'K',
    };
    assert.equal(
      kiePrompt({ ...texts, task_type: 'text_kie_prompt_v2' }, 'ocr', ['a']),
      'TROD K'.replace(' ', '') + "\n结合上面的例子，下面正式开始：OCR文字：```ocr```\n问题列表：['a']。",
    );
    assert.equal(
      kiePrompt({ ...texts, task_type: 'table_kie_prompt_v2' }, 'html', ['a', 'b']),
      "TRODK\n结合上面，下面正式开始：表格内容：```html```\n问题列表：['a', 'b']。",
    );
    const pad = ' '.repeat(16);
    assert.equal(
      ensemblePrompt({ ...texts, task_type: 'ensemble_prompt' }, 'Total', '1280.00', '1,280.00'),
      `TRODK下面正式开始:\n${pad}\n问题：\`\`\`Total\`\`\`\n${pad}\n方法A的结果：1280.00\n${pad}\n方法B的结果：1,280.00\n${pad}`,
    );
  });

  test('an unknown task_type stops startup, as PaddleX raises', () => {
    assert.throws(
      () => readPromptBlock({ task_type: 'kie_v9' }, 'SubModules.PromptEngneering.KIE_Table', KIE_TASK_TYPES),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /KIE_Table\.task_type: must be one of text_kie_prompt_v1/);
        return true;
      },
    );
  });

  test('Python repr of keys: quotes, escapes, non-printable characters', () => {
    assert.equal(
      pythonListRepr(['a', "it's", 'say "hi"', 'both \' and "', 'tab\tnl\n', '\u200b', '发票', '😀']),
      `['a', "it's", 'say "hi"', 'both \\' and "', 'tab\\tnl\\n', '\\u200b', '发票', '😀']`,
    );
    assert.equal(pythonStrip('Total: 1280.00', 'Total:'), ' 1280.00');
  });
});

describe('answers parsed as PaddleX fix_llm_result_format does', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['{"Invoice": "INV-0815", "Total": "1280.00"}', { Invoice: 'INV-0815', Total: '1280.00' }],
    ['```json\n{"Invoice": "INV-0815", "Total": ["1280.00", "x"]}\n```', { Invoice: 'INV-0815', Total: '1280.00' }],
    // trailing comma: invalid JSON, repaired by the "key": "value" regex
    ['Sure! Here is the json: {"Invoice": "INV-0815", "Total": "1280.00",}', { Invoice: 'INV-0815', Total: '1280.00' }],
    // unterminated object over two lines
    ['{"Invoice": "INV-0815",\n    "Total": "1280.00"', { Invoice: 'INV-0815', Total: '1280.00' }],
    // 问题/答案 form: the answer stripped of the key's characters (Python str.strip)
    ['{"问题": "Total", "答案": "Total: 1280.00"}', { Total: ' 1280.00' }],
    // non-string values kept, empty lists dropped
    ['{"Invoice": "INV-[0815]", "Seller": 42, "Empty": []}', { Invoice: 'INV-[0815]', Seller: 42 }],
    ['no answer here', {}],
    ['', {}],
  ];
  for (const [answer, expected] of cases) {
    test(JSON.stringify(answer), () => assert.deepEqual({ ...parseLlmAnswer(answer) }, expected));
  }
  test('a JSON array answer, where PaddleX raises, is a 502 naming the problem', () => {
    assert.throws(
      () => parseLlmAnswer('["a", "b"]'),
      (err: Error) => err instanceof ApiError && err.status === 502 && /JSON array/.test(err.message),
    );
  });
});

describe('text splitter (langchain RecursiveCharacterTextSplitter as PaddleX configures it)', () => {
  test('splits on tabs first, merges small pieces up to the block size, separators kept at the front', () => {
    // items "aaaa\n", "bbbb\n", "cccc\n" joined with tabs; block size 12: "aaaa\n" + "\tbbbb\n" = 11 chars
    assert.deepEqual(splitText('aaaa\n\tbbbb\n\tcccc\n', 12, 2), ['aaaa\n\tbbbb', 'cccc']);
  });
  test('a piece longer than the block size is split on the next separators, with overlap', () => {
    assert.deepEqual(splitText('abcdefghij', 4, 1), ['abcd', 'defg', 'ghij']);
    assert.deepEqual(splitText('一二三。四五六。七八', 5, 0), ['一二三', '。四五六', '。七八']);
  });
  test('lengths count code points, as Python does', () => {
    assert.deepEqual(splitText('😀😀😀😀', 2, 0), ['😀😀', '😀😀']);
  });
});

describe('vector store', () => {
  test('short text stays items; long text is chunked, embedded, and read back; retrieval picks the chunks about the key', async () => {
    const stub = await startLlmStub();
    try {
      stub.embedding = keywordEmbedding(['Invoice', 'Total', 'Seller']);
      const retriever = readLlmEndpoint(
        { model_name: 'embed-1', base_url: stub.baseUrl, api_type: 'openai', api_key: 'sk-test' },
        'test',
        'retriever',
        (m) => new Error(m),
      );
      const signal = new AbortController().signal;
      const short = await buildVectorInfo(['words in text：a\n'], 3500, 300, retriever, signal);
      assert.deepEqual(short, { flag_save_bytes_vector: false, flag_too_short_text: true, vector: ['words in text：a\n'] });

      const items = ['Seller: ACME Trading\n', 'Invoice: INV-0815\n', 'Total: 1280.00\n', 'Seller address: Main St\n'];
      const info = await buildVectorInfo(items, 10, 25, retriever, signal);
      assert.equal(info.flag_too_short_text, false);
      if (info.flag_too_short_text) return;
      assert.deepEqual(info.vector.chunks, ['Seller: ACME Trading', 'Invoice: INV-0815', 'Total: 1280.00', 'Seller address: Main St']);
      assert.equal(info.vector.format, 'pipeserve-vector-store');
      // through JSON, as a client passes it back
      const back = readVectorInfo(JSON.parse(JSON.stringify(info)));
      assert.equal(back.flag_too_short_text, false);
      if (back.flag_too_short_text) return;
      stub.requests.length = 0;
      // "Total" matches one chunk (relevance 1); the other chunks have relevance 1 − 2/√2 < −0.1 and are left out
      assert.equal(await retrieveRelatedText(back.vector, ['Total'], 3500, retriever, signal), 'Total: 1280.00');
      assert.deepEqual(
        stub.requests.map((r) => r.body),
        [{ model: 'embed-1', input: ['Total'] }],
      );
      // both Seller chunks (equal relevance: PaddleX's stable ascending sort walked backwards puts the later one first)
      assert.equal(
        await retrieveRelatedText(back.vector, ['Seller'], 3500, retriever, signal),
        'Seller address: Main StSeller: ACME Trading',
      );
      // minCharacters: the chunk that would overflow ends that key's turn; the next key still adds what fits
      assert.equal(
        await retrieveRelatedText(back.vector, ['Seller', 'Invoice'], 42, retriever, signal),
        'Seller address: Main StInvoice: INV-0815',
      );
      assert.equal(stub.requests.at(-1)!.authorization, 'Bearer sk-test');
    } finally {
      await stub.close();
    }
  });

  test('a PaddleX vectorInfo (pickled FAISS) and foreign data are refused with a 422', () => {
    const refused = (raw: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(
        () => readVectorInfo(raw),
        (err: Error) => err instanceof ApiError && err.status === 422 && pattern.test(err.message),
      );
    refused(
      { flag_too_short_text: false, flag_save_bytes_vector: true, vector: 'PADDLEX_VECTOR_STORE gASV...' },
      /built by PaddleX .*never unpickles/,
    );
    refused({ flag_too_short_text: false, vector: { format: 'other' } }, /not a vector store made by \/chatocr-vector/);
  });
});

describe("the visual stage's config", () => {
  test("the built-in v4 YAML is PaddleX's newest: layout_parsing, text line orientation in the general OCR", async () => {
    const config = parsePipelineConfig(await readFile(path.join(REPO_ROOT, 'configs', 'PP-ChatOCRv4-doc.yaml'), 'utf8'), 'v4');
    const parser = ppChatOcrV4Pipeline.activeConfig!(config).SubPipelines!.LayoutParser!;
    assert.equal(parser.pipeline_name, 'layout_parsing');
    const generalOcr = parser.SubPipelines!.GeneralOCR!;
    assert.equal(generalOcr.use_textline_orientation, true);
    assert.ok(generalOcr.SubModules!.TextLineOrientation);
  });

  test('a LayoutParser naming another pipeline stops startup (PaddleX would build it; this stage is layout_parsing)', async () => {
    const config = parsePipelineConfig(await readFile(path.join(REPO_ROOT, 'configs', 'PP-ChatOCRv4-doc.yaml'), 'utf8'), 'v4');
    config.SubPipelines!.LayoutParser!.pipeline_name = 'PP-StructureV3';
    assert.throws(
      () => ppChatOcrV4Pipeline.activeConfig!(config),
      (err: Error) => err instanceof ConfigError && /SubPipelines\.LayoutParser\.pipeline_name: .*"PP-StructureV3"/.test(err.message),
    );
  });
});
