/**
 * PaddleX's prompt engineering blocks (`SubModules.PromptEngneering.<name>` in the ChatOCR YAMLs,
 * `module_name: prompt_engneering`, both misspelled upstream) and the prompts they build, character
 * for character as PaddleX's generate_kie_prompt.py / generate_ensemble_prompt.py do.
 */
import { z } from 'zod';
import { ConfigError } from '../../../errors.js';
import { pythonListRepr } from './pythonText.js';

export const KIE_TASK_TYPES = ['text_kie_prompt_v1', 'table_kie_prompt_v1', 'text_kie_prompt_v2', 'table_kie_prompt_v2'] as const;
export type KieTaskType = (typeof KIE_TASK_TYPES)[number];

/** The five texts a prompt starts with, in PaddleX's order of concatenation (task, rules, format, demos). */
export interface PromptTexts {
  task_description: string;
  rules_str: string;
  output_format: string;
  few_shot_demo_text_content: string;
  few_shot_demo_key_value_list: string;
}

export interface PromptBlock<TaskType extends string> extends PromptTexts {
  task_type: TaskType;
}

/** Request-level replacements: a field that is null or absent keeps the YAML's text ("" replaces it). */
export type PromptOverrides = Partial<Record<keyof PromptTexts, string | null | undefined>>;

const text = z.string().nullish();
const blockSchema = z.looseObject({
  task_type: z.string().nullish(),
  task_description: text,
  output_format: text,
  rules_str: text,
  few_shot_demo_text_content: text,
  few_shot_demo_key_value_list: text,
});

/** Reads one block; PaddleX treats a missing or null text as "" and refuses an unknown task_type. */
export function readPromptBlock<T extends string>(raw: unknown, keyPath: string, taskTypes: readonly T[]): PromptBlock<T> {
  const parsed = blockSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`${keyPath}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const block = parsed.data;
  const taskType = block.task_type ?? '';
  if (!(taskTypes as readonly string[]).includes(taskType)) {
    throw new ConfigError(`${keyPath}.task_type: must be one of ${taskTypes.join(', ')} (got ${JSON.stringify(block.task_type ?? null)})`);
  }
  return {
    task_type: taskType as T,
    task_description: block.task_description ?? '',
    rules_str: block.rules_str ?? '',
    output_format: block.output_format ?? '',
    few_shot_demo_text_content: block.few_shot_demo_text_content ?? '',
    few_shot_demo_key_value_list: block.few_shot_demo_key_value_list ?? '',
  };
}

function promptHead(block: PromptTexts, overrides: PromptOverrides): string {
  const pick = (key: keyof PromptTexts) => overrides[key] ?? block[key];
  return (
    pick('task_description') +
    pick('rules_str') +
    pick('output_format') +
    pick('few_shot_demo_text_content') +
    pick('few_shot_demo_key_value_list')
  );
}

// PaddleX writes each tail as an indented triple-quoted f-string with line continuations, then
// deletes every run of four spaces from it (including any inside the content and keys).
const INDENT = ' '.repeat(16);
const KIE_TAILS: Record<KieTaskType, (content: string, keys: string) => string> = {
  table_kie_prompt_v1: (content, keys) =>
    `\n结合上面，下面正式开始：${INDENT}表格内容：\`\`\`${content}\`\`\`${INDENT}关键词列表：[${keys}]。`,
  text_kie_prompt_v1: (content, keys) =>
    `\n结合上面的例子，下面正式开始：${INDENT}OCR文字：\`\`\`${content}\`\`\`${INDENT}关键词列表：[${keys}]。`,
  table_kie_prompt_v2: (content, keys) =>
    `\n结合上面，下面正式开始：${INDENT}表格内容：\`\`\`${content}\`\`\`${INDENT}\n问题列表：${keys}。`,
  text_kie_prompt_v2: (content, keys) =>
    `\n结合上面的例子，下面正式开始：${INDENT}OCR文字：\`\`\`${content}\`\`\`${INDENT}\n问题列表：${keys}。`,
};

/** PaddleX's GenerateKIEPrompt.generate_prompt: `keys` appear as Python's repr of the list. */
export function kiePrompt(
  block: PromptBlock<KieTaskType>,
  content: string,
  keys: readonly string[],
  overrides: PromptOverrides = {},
): string {
  return promptHead(block, overrides) + KIE_TAILS[block.task_type](content, pythonListRepr(keys)).replaceAll('    ', '');
}

/** PaddleX's GenerateEnsemblePrompt.generate_prompt (PP-ChatOCRv4's OCR+LLM vs MLLM arbitration). */
export function ensemblePrompt(block: PromptBlock<'ensemble_prompt'>, key: string, resultA: string, resultB: string): string {
  return (
    promptHead(block, {}) +
    `下面正式开始:\n${INDENT}\n问题：\`\`\`${key}\`\`\`\n${INDENT}\n方法A的结果：${resultA}\n${INDENT}\n方法B的结果：${resultB}\n${INDENT}`
  );
}

export const TRANSLATE_TASK_TYPES = ['translate_prompt'] as const;

/** PaddleX's language_map: codes and English names → the Chinese name the prompt uses; other values are used as given. */
const LANGUAGE_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  (
    [
      ['chinese', 'zh', '简体中文'],
      ['english', 'en', '英语'],
      ['french', 'fr', '法语'],
      ['spanish', 'es', '西班牙语'],
      ['german', 'de', '德语'],
      ['japanese', 'ja', '日语'],
      ['korean', 'ko', '韩语'],
      ['russian', 'ru', '俄语'],
      ['italian', 'it', '意大利语'],
      ['portuguese', 'pt', '葡萄牙语'],
      ['arabic', 'ar', '阿拉伯语'],
      ['hindi', 'hi', '印地语'],
      ['dutch', 'nl', '荷兰语'],
      ['swedish', 'sv', '瑞典语'],
      ['turkish', 'tr', '土耳其语'],
      ['thai', 'th', '泰语'],
      ['vietnamese', 'vi', '越南语'],
      ['hebrew', 'he', '希伯来语'],
      ['greek', 'el', '希腊语'],
      ['polish', 'pl', '波兰语'],
    ] as const
  ).flatMap(([name, code, chinese]) => [
    [name, chinese],
    [code, chinese],
  ]),
);

/**
 * PaddleX's GenerateTranslatePrompt.generate_prompt (PP-DocTranslation): the head texts, the
 * few-shot text and the glossary (key-value list) each introduced when not empty, then the
 * triple-quoted tail with its 16-space indents as they are (nothing removed, unlike the KIE prompts).
 */
export function translatePrompt(
  block: PromptBlock<'translate_prompt'>,
  originalText: string,
  language: string,
  overrides: PromptOverrides = {},
): string {
  const pick = (key: keyof PromptTexts) => overrides[key] ?? block[key];
  const examples = pick('few_shot_demo_text_content');
  const terms = pick('few_shot_demo_key_value_list');
  const languageName = Object.hasOwn(LANGUAGE_NAMES, language) ? LANGUAGE_NAMES[language] : language;
  return (
    pick('task_description') +
    pick('rules_str') +
    pick('output_format') +
    (examples ? `这里是一些示例：\n${examples}\n` : '') +
    (terms ? `\n这里是一些专业术语对照表,如果遇到对照表中单词要参考对照表翻译：\n${terms}\n` : '') +
    `下面正式开始:\n${INDENT}\n将以下内容翻译成：${languageName}\n${INDENT}\n原文：${originalText}\n${INDENT}`
  );
}
