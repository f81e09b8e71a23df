/**
 * The LLM side of PP-ChatOCR's and PP-DocTranslation's YAMLs: `SubModules.LLM_Chat` /
 * `LLM_Retriever` / `MLLM_Chat` (module_name chat_bot / retriever) and the prompt blocks under
 * `SubModules.PromptEngneering` (PaddleX's spelling). They are HTTP endpoints, not models: the active config moves them out of
 * `SubModules` into `llmModules`, so model resolution never sees them, and they are checked at startup.
 */
import type { PipelineConfig } from '../../../config/pipelineConfig.js';
import { ConfigError } from '../../../errors.js';
import type { KiePrompts } from '../llm/keyInformation.js';
import { type LlmEndpoint, type LlmModuleKind, readLlmEndpoint, readRequestLlmEndpoint } from '../llm/openaiClient.js';
import { KIE_TASK_TYPES, type PromptBlock, readPromptBlock, TRANSLATE_TASK_TYPES } from '../llm/prompts.js';

export const LLM_CHAT = 'LLM_Chat';
export const LLM_RETRIEVER = 'LLM_Retriever';
export const MLLM_CHAT = 'MLLM_Chat';
export const PROMPT_ENGINEERING = 'PromptEngneering';
const LLM_MODULE_ROLES = [LLM_CHAT, LLM_RETRIEVER, MLLM_CHAT, PROMPT_ENGINEERING];

/** The key of the active config that holds the LLM modules (pipeserve's, not PaddleX's). */
export const LLM_MODULES_KEY = 'llmModules';

export interface LlmModules {
  chatBot: LlmEndpoint;
  retriever: LlmEndpoint;
  /** with use_mllm_predict (PP-ChatOCRv4) */
  mllm?: LlmEndpoint;
  prompts: KiePrompts;
}

/** Moves the LLM modules of `config.SubModules` to `config.llmModules`. */
export function separateLlmModules(config: PipelineConfig): PipelineConfig {
  const SubModules = { ...config.SubModules };
  const llmModules: Record<string, unknown> = {};
  for (const role of LLM_MODULE_ROLES) {
    if (role in SubModules) llmModules[role] = SubModules[role];
    delete SubModules[role];
  }
  return { ...config, SubModules, [LLM_MODULES_KEY]: llmModules };
}

const configError = (message: string) => new ConfigError(message);

function endpointOf(modules: Record<string, unknown>, role: string, kind: LlmModuleKind): LlmEndpoint {
  if (!modules[role]) throw new ConfigError(`SubModules.${role} is missing (the ${kind} module: model_name, base_url, api_type, api_key)`);
  return readLlmEndpoint(modules[role], `SubModules.${role}`, kind, configError);
}

/** The checked LLM modules of an active config (throws ConfigError, so a bad YAML stops startup). */
export function readLlmModules(config: PipelineConfig, options: { mllm: boolean; ensemble: boolean }): LlmModules {
  const modules = (config[LLM_MODULES_KEY] ?? {}) as Record<string, unknown>;
  const prompts = (modules[PROMPT_ENGINEERING] ?? {}) as Record<string, unknown>;
  const at = (name: string) => `SubModules.${PROMPT_ENGINEERING}.${name}`;
  return {
    chatBot: endpointOf(modules, LLM_CHAT, 'chat_bot'),
    retriever: endpointOf(modules, LLM_RETRIEVER, 'retriever'),
    ...(options.mllm ? { mllm: endpointOf(modules, MLLM_CHAT, 'chat_bot') } : {}),
    prompts: {
      text: readPromptBlock(prompts.KIE_CommonText, at('KIE_CommonText'), KIE_TASK_TYPES),
      table: readPromptBlock(prompts.KIE_Table, at('KIE_Table'), KIE_TASK_TYPES),
      ...(options.ensemble ? { ensemble: readPromptBlock(prompts.Ensemble, at('Ensemble'), ['ensemble_prompt'] as const) } : {}),
    },
  };
}

export interface TranslationModules {
  chatBot: LlmEndpoint;
  prompt: PromptBlock<(typeof TRANSLATE_TASK_TYPES)[number]>;
}

/** PP-DocTranslation's checked LLM modules: the chat bot and `PromptEngneering.Translate_CommonText`. */
export function readTranslationModules(config: PipelineConfig): TranslationModules {
  const modules = (config[LLM_MODULES_KEY] ?? {}) as Record<string, unknown>;
  const prompts = (modules[PROMPT_ENGINEERING] ?? {}) as Record<string, unknown>;
  return {
    chatBot: endpointOf(modules, LLM_CHAT, 'chat_bot'),
    prompt: readPromptBlock(prompts.Translate_CommonText, `SubModules.${PROMPT_ENGINEERING}.Translate_CommonText`, TRANSLATE_TASK_TYPES),
  };
}

/**
 * A request-level chatBotConfig / retrieverConfig / mllmChatBotConfig: replaces the YAML's module
 * entirely, as in PaddleX; its base_url is held to public addresses unless `allowPrivateUrls`.
 */
export function requestEndpoint(
  raw: Record<string, unknown> | null | undefined,
  field: string,
  kind: LlmModuleKind,
  configured: LlmEndpoint,
  allowPrivateUrls: boolean,
): LlmEndpoint {
  return raw == null ? configured : readRequestLlmEndpoint(raw, field, kind, allowPrivateUrls);
}
