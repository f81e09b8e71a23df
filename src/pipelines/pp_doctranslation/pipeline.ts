/**
 * PaddleX's PP-DocTranslation: `/doctrans-visual` parses documents to Markdown with the
 * PP-StructureV3 stage on the workers; `/doctrans-translate` translates Markdown with the configured
 * OpenAI-compatible LLM from this thread's event loop (no inference instance waits on it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { type PipelineConfig, readParam } from '../../config/pipelineConfig.js';
import { ApiError, ConfigError, invalidInput } from '../../errors.js';
import { defineEndpoint, definePipeline, type PipelineDescriptor } from '../define.js';
import { LLM_MODULES_KEY, readTranslationModules, requestEndpoint, separateLlmModules } from '../shared/chatocr/llmModules.js';
import { documentServingExtra, type DocumentServingExtra } from '../shared/documentInput.js';
import type { DocumentParsingStage } from '../shared/documentParsingStage.js';
import { chat, describeUpstream } from '../shared/llm/openaiClient.js';
import { type PromptOverrides, translatePrompt } from '../shared/llm/prompts.js';
import { pythonLen } from '../shared/llm/pythonText.js';
import { concatenatePages } from '../shared/markdownPages.js';
import { optional } from '../shared/request.js';
import { glossaryText, translateMarkdown } from './translation.js';

const LAYOUT_PARSER = 'LayoutParser';

const markdownPage = z.object({
  text: z.string(),
  isStart: z.boolean(),
  isEnd: z.boolean(),
  images: optional(z.record(z.string(), z.string())),
});

// PaddleX declares targetLanguage, chunkSize and llmRequestInterval with defaults but not Optional: null is refused
const translateRequest = z.object({
  markdownList: z.array(markdownPage).min(1, 'markdownList: give at least one page'),
  targetLanguage: z.string().default('zh'),
  chunkSize: z.number().int().default(5000),
  taskDescription: optional(z.string()),
  outputFormat: optional(z.string()),
  rulesStr: optional(z.string()),
  fewShotDemoTextContent: optional(z.string()),
  fewShotDemoKeyValueList: optional(z.string()),
  glossary: optional(z.record(z.string(), z.union([z.string(), z.array(z.string())]))),
  llmRequestInterval: z.number().min(0).default(0),
  chatBotConfig: optional(z.record(z.string(), z.unknown())),
});
type TranslateRequest = z.output<typeof translateRequest>;

const translateResult = z.object({
  translationResults: z.array(
    z.object({ language: z.string(), markdown: z.object({ text: z.string(), isStart: z.boolean(), isEnd: z.boolean() }) }),
  ),
});

/** The request's prompt texts; the glossary joins (or stands in for) the few-shot key-value list, as in PaddleX. */
function promptOverrides(req: TranslateRequest): PromptOverrides {
  const glossary = req.glossary ? glossaryText(req.glossary) : '';
  const terms = req.fewShotDemoKeyValueList;
  return {
    task_description: req.taskDescription,
    output_format: req.outputFormat,
    rules_str: req.rulesStr,
    few_shot_demo_text_content: req.fewShotDemoTextContent,
    few_shot_demo_key_value_list: glossary ? (terms == null ? glossary : `${terms}\n${glossary}`) : terms,
  };
}

/** PaddleX's translate: the pages as one document (concatenate_markdown_pages), translated chunk by chunk. */
async function translate(req: TranslateRequest, config: PipelineConfig, signal: AbortSignal, allowPrivateUrls: boolean) {
  const modules = readTranslationModules(config);
  const chatBot = requestEndpoint(req.chatBotConfig, 'chatBotConfig', 'chat_bot', modules.chatBot, allowPrivateUrls);
  const overrides = promptOverrides(req);
  const promptFor = (text: string) => translatePrompt(modules.prompt, text, req.targetLanguage, overrides);
  // the chunk size counts the prompt around the text
  const basePromptLength = pythonLen(promptFor(''));
  if (req.chunkSize <= basePromptLength) {
    throw invalidInput(
      `chunkSize: Chunk size should be greater than the base prompt length (${basePromptLength}), but got ${req.chunkSize}.`,
    );
  }
  const translateChunk = async (text: string) => {
    await sleep(req.llmRequestInterval * 1000, undefined, { signal });
    const answer = await chat(chatBot, promptFor(text), signal);
    if (answer.content === null) throw new ApiError(502, `The ${describeUpstream(chatBot)} answered without content.`);
    return answer.content;
  };
  const text = await translateMarkdown(concatenatePages(req.markdownList), req.chunkSize - basePromptLength, translateChunk);
  return { translationResults: [{ language: req.targetLanguage, markdown: { text, isStart: true, isEnd: true } }] };
}

/** PP-DocTranslation on top of a document parsing stage (PP-StructureV3, handed over by the registry). */
export function ppDocTranslationPipeline(visual: DocumentParsingStage): PipelineDescriptor<any, DocumentServingExtra> {
  return definePipeline<any, DocumentServingExtra>({
    pipelineName: 'PP-DocTranslation',
    worker: visual.worker,
    servingExtra: documentServingExtra,
    /** The LayoutParser's active config for the workers, with the LLM modules (checked here, so a bad block stops startup). */
    activeConfig(config) {
      const withLlm = separateLlmModules(config);
      readTranslationModules(withLlm);
      if (!readParam(config, 'use_layout_parser', z.boolean(), '(top level)', true)) {
        throw new ConfigError('use_layout_parser: False is not supported: /doctrans-visual runs the layout parser (set it True)');
      }
      const parser = config.SubPipelines?.[LAYOUT_PARSER];
      if (!parser) throw new ConfigError(`SubPipelines.${LAYOUT_PARSER} is missing (the PP-StructureV3 visual stage)`);
      return { ...visual.activeConfig(parser), [LLM_MODULES_KEY]: withLlm[LLM_MODULES_KEY] };
    },
    endpoints: [
      visual.endpoint({
        path: '/doctrans-visual',
        operationId: 'analyzeImages',
        summary: 'Document parsing of an image or PDF to Markdown per page, the input of /doctrans-translate (PaddleX PP-DocTranslation)',
      }),
      defineEndpoint<any, DocumentServingExtra>()({
        path: '/doctrans-translate',
        operationId: 'translate',
        summary: "Translates the pages' Markdown with the LLM, code blocks, tables and HTML kept (translationResults: one document)",
        request: translateRequest,
        result: translateResult,
        input: { kind: 'none', field: 'markdownList' },
        usesInstances: false,
        handle: (req, ctx) => translate(req, ctx.config, ctx.signal, ctx.allowPrivateUrls),
      }),
    ],
  });
}
