/**
 * PP-ChatOCR's LLM stage (PaddleX's pp_chatocr pipeline_v3.py / pipeline_v4.py `build_vector` and
 * `chat`), run on the HTTP side: every upstream call is async I/O, so no inference instance waits.
 */
import { z } from 'zod';
import { invalidInput } from '../../../errors.js';
import { type LlmAnswer, parseLlmAnswer } from './answerParser.js';
import { chat, type LlmEndpoint } from './openaiClient.js';
import { ensemblePrompt, type KieTaskType, kiePrompt, type PromptBlock, type PromptOverrides } from './prompts.js';
import { pythonLen } from './pythonText.js';
import { buildVectorInfo, readVectorInfo, retrieveRelatedText, type VectorInfo } from './vectorStore.js';

/** Which generation's behaviour: v4 reads table neighbour text, asks text before tables, and may merge MLLM answers. */
export type ChatOcrVersion = 'v3' | 'v4';

/** One page's `visualInfo` as /chatocr-visual returns it (v4 adds `table_nei_text_list`). */
export const visualInfoPage = z.looseObject({
  normal_text_dict: z.record(z.string(), z.string()),
  table_text_list: z.array(z.string()),
  table_html_list: z.array(z.string()),
  table_nei_text_list: z.array(z.string()).optional(),
});
export type VisualInfoPage = z.infer<typeof visualInfoPage>;

/** PaddleX's table_structure_len_max: tables whose HTML is longer than minCharacters − 500 go to the retriever instead. */
const TABLE_STRUCTURE_LEN_MAX = 500;
/** Answers PaddleX does not accept as found. */
const FAILED_ANSWERS: readonly unknown[] = ['大模型调用失败', '未知', '未找到关键信息', 'None', ''];

interface MergedVisualInfo {
  normalTexts: Array<Record<string, string>>;
  tables: Array<{ text: string; html: string; neighbourText: string }>;
}

/** PaddleX's merge_visual_info_list (newlines removed from the normal texts). */
function mergeVisualInfo(pages: readonly VisualInfoPage[], version: ChatOcrVersion): MergedVisualInfo {
  const normalTexts = pages.map((page) =>
    Object.fromEntries(Object.entries(page.normal_text_dict).map(([key, text]) => [key, text.replaceAll('\n', '')])),
  );
  const tables = pages.flatMap((page, pageNo) => {
    if (version === 'v4' && !page.table_nei_text_list) {
      throw invalidInput(`visualInfo[${pageNo}].table_nei_text_list: required by PP-ChatOCRv4 (as /chatocr-visual returns it)`);
    }
    // zip() stops at the shortest list, as in PaddleX
    const count = Math.min(
      page.table_html_list.length,
      page.table_text_list.length,
      page.table_nei_text_list?.length ?? Number.POSITIVE_INFINITY,
    );
    return Array.from({ length: count }, (_, i) => ({
      html: page.table_html_list[i]!,
      text: page.table_text_list[i]!,
      neighbourText: page.table_nei_text_list?.[i] ?? '',
    }));
  });
  return { normalTexts, tables };
}

/** `"<type>：<text>\n"` per normal text of every page (the full-width colon is PaddleX's). */
function normalTextItems(merged: MergedVisualInfo): string[] {
  return merged.normalTexts.flatMap((texts) => Object.entries(texts).map(([type, text]) => `${type}：${text}\n`));
}

const isLongTable = (html: string, minCharacters: number) => pythonLen(html) > minCharacters - TABLE_STRUCTURE_LEN_MAX;

/** PaddleX's build_vector: normal texts plus long tables become the store (or stay items when short). */
export async function buildVector(
  pages: readonly VisualInfoPage[],
  version: ChatOcrVersion,
  minCharacters: number,
  blockSize: number,
  retriever: LlmEndpoint,
  signal: AbortSignal,
): Promise<VectorInfo> {
  const merged = mergeVisualInfo(pages, version);
  const items = normalTextItems(merged);
  for (const table of merged.tables) {
    if (isLongTable(table.html, minCharacters))
      items.push(version === 'v4' ? `table：${table.text}\t${table.neighbourText}` : `table：${table.text}`);
  }
  return buildVectorInfo(items, minCharacters, blockSize, retriever, signal);
}

export interface KiePrompts {
  text: PromptBlock<KieTaskType>;
  table: PromptBlock<KieTaskType>;
  /** v4 only */
  ensemble?: PromptBlock<'ensemble_prompt'>;
}

export interface ChatRequestSettings {
  version: ChatOcrVersion;
  keys: string[];
  pages: readonly VisualInfoPage[];
  useVectorRetrieval: boolean;
  vectorInfo: Record<string, unknown> | null | undefined;
  minCharacters: number;
  textOverrides: PromptOverrides;
  tableOverrides: PromptOverrides;
  chatBot: LlmEndpoint;
  /** the YAML's chat bot: PP-ChatOCRv4 arbitrates OCR vs MLLM answers with it even when the request brings its own */
  configuredChatBot: LlmEndpoint;
  retriever: LlmEndpoint;
  prompts: KiePrompts;
  /** v4 */
  mllmPredictInfo?: Record<string, unknown> | null;
  mllmIntegrationStrategy?: string;
  useMllm?: boolean;
}

/** PaddleX's generate_and_merge_chat_results: accepted answers fill `results` and leave `pending`. */
async function askAndMerge(
  endpoint: LlmEndpoint,
  prompt: string,
  pending: string[],
  results: Record<string, unknown>,
  version: ChatOcrVersion,
  signal: AbortSignal,
): Promise<void> {
  const answer = await chat(endpoint, prompt, signal);
  if (version === 'v3' && answer.reasoningContent !== null) {
    const reasoning = (results.reasoning_content as string[] | undefined) ?? [];
    reasoning.push(answer.reasoningContent);
    results.reasoning_content = reasoning;
  }
  if (answer.content === null) return;
  for (const [key, value] of Object.entries(parseLlmAnswer(answer.content))) {
    const index = pending.indexOf(key);
    if (!FAILED_ANSWERS.includes(value) && index !== -1) {
      pending.splice(index, 1);
      results[key] = value;
    }
  }
}

/** PaddleX's get_related_normal_text: retrieved chunks, the stored short text, or every normal text. */
async function relatedNormalText(
  s: ChatRequestSettings,
  merged: MergedVisualInfo,
  pending: string[],
  signal: AbortSignal,
): Promise<string> {
  if (s.useVectorRetrieval && s.vectorInfo != null) {
    const info = readVectorInfo(s.vectorInfo);
    if (info.flag_too_short_text) return info.vector.join('');
    if (s.version === 'v3' && info.model_name !== s.retriever.modelName) {
      throw invalidInput(
        `vectorInfo: the vector model name (${info.model_name}) does not match the retriever model name (${s.retriever.modelName}). Please check your retriever config.`,
      );
    }
    return retrieveRelatedText(info.vector, pending, s.minCharacters, s.retriever, signal);
  }
  return normalTextItems(merged).join('');
}

async function askTables(
  s: ChatRequestSettings,
  merged: MergedVisualInfo,
  pending: string[],
  results: Record<string, unknown>,
  signal: AbortSignal,
) {
  for (const table of merged.tables) {
    if (!pending.length) return;
    if (isLongTable(table.html, s.minCharacters)) continue;
    const content =
      s.version === 'v4' && table.neighbourText.length > 0 ? `${table.html}\n 表格周围文字：${table.neighbourText}` : table.html;
    await askAndMerge(s.chatBot, kiePrompt(s.prompts.table, content, pending, s.tableOverrides), pending, results, s.version, signal);
  }
}

async function askText(
  s: ChatRequestSettings,
  merged: MergedVisualInfo,
  pending: string[],
  results: Record<string, unknown>,
  signal: AbortSignal,
) {
  if (!pending.length) return;
  const related = await relatedNormalText(s, merged, pending, signal);
  if (related.length > 0) {
    await askAndMerge(s.chatBot, kiePrompt(s.prompts.text, related, pending, s.textOverrides), pending, results, s.version, signal);
  }
}

/** PaddleX's ensemble_ocr_llm_mllm: where both methods answered, the LLM picks A (OCR + LLM) or B (MLLM). */
async function ensemble(
  s: ChatRequestSettings,
  ocrAnswers: LlmAnswer,
  mllmAnswers: Record<string, unknown>,
  signal: AbortSignal,
): Promise<LlmAnswer> {
  const final: LlmAnswer = Object.create(null);
  for (const key of s.keys) {
    const fromOcr = Object.hasOwn(ocrAnswers, key) ? ocrAnswers[key] : '';
    const fromMllm = Object.hasOwn(mllmAnswers, key) ? mllmAnswers[key] : '';
    let predict: unknown = '';
    if (fromOcr !== '' && fromMllm !== '') {
      const prompt = ensemblePrompt(s.prompts.ensemble!, key, String(fromOcr), String(fromMllm));
      const answer = await chat(s.configuredChatBot, prompt, signal);
      const verdict = parseLlmAnswer(answer.content);
      predict = Object.hasOwn(verdict, key) && String(verdict[key]).includes('B') ? fromMllm : fromOcr;
    } else if (Object.hasOwn(ocrAnswers, key)) {
      predict = ocrAnswers[key];
    } else if (Object.hasOwn(mllmAnswers, key)) {
      predict = mllmAnswers[key];
    }
    if (predict !== '') final[key] = predict;
  }
  return final;
}

export const MLLM_INTEGRATION_STRATEGIES = ['integration', 'llm_only', 'mllm_only'] as const;

/** PaddleX's chat: key → value for the keys the LLM answered (v3 tables first, v4 text first, then v4's MLLM merge). */
export async function extractKeyInformation(s: ChatRequestSettings, signal: AbortSignal): Promise<LlmAnswer> {
  const merged = mergeVisualInfo(s.pages, s.version);
  const pending = [...s.keys];
  const results: LlmAnswer = Object.create(null);
  if (s.version === 'v3') {
    await askTables(s, merged, pending, results, signal);
    await askText(s, merged, pending, results, signal);
    return results;
  }
  await askText(s, merged, pending, results, signal);
  await askTables(s, merged, pending, results, signal);
  const strategy = s.mllmIntegrationStrategy ?? 'integration';
  if (!s.useMllm || strategy === 'llm_only' || s.mllmPredictInfo == null) return results;
  if (strategy === 'mllm_only') return s.mllmPredictInfo;
  return ensemble(s, results, s.mllmPredictInfo, signal);
}
