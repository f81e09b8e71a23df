/**
 * PP-ChatOCRv3-doc and PP-ChatOCRv4-doc, HTTP side: `/chatocr-visual` runs the visual stage on the
 * workers; `/chatocr-vector`, `/chatocr-chat` and (v4) `/chatocr-mllm` call the configured
 * OpenAI-compatible upstreams from this thread's event loop, so no inference instance waits on an LLM.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../../config/pipelineConfig.js';
import { readParam } from '../../../config/pipelineConfig.js';
import { ConfigError, invalidInput } from '../../../errors.js';
import { layoutThresholdSchema, mergeModeSchema, unclipRatioSchema } from '../../../config/layoutParams.js';
import {
  defineEndpoint,
  definePipeline,
  type EndpointContext,
  type EndpointSpec,
  type OpsOf,
  type PipelineDescriptor,
} from '../../define.js';
import { activeDocPreprocessingConfig, resolveDocPreprocessing } from '../docPreprocessing.js';
import { documentRequestFields, documentServingExtra, type DocumentServingExtra, runDocument } from '../documentInput.js';
import {
  buildVector,
  type ChatOcrVersion,
  extractKeyInformation,
  MLLM_INTEGRATION_STRATEGIES,
  visualInfoPage,
} from '../llm/keyInformation.js';
import { chat } from '../llm/openaiClient.js';
import {
  activeOcrConfig,
  DOC_PREPROCESSOR,
  type OcrSettings,
  requestedDet,
  resolveTextlineOrientation,
  sealOcrRequestFields,
  textOcrRequestFields,
} from '../ocrSettings.js';
import { toBase64 } from '../output.js';
import { optional, unloadedModelRequested, visualizeField, wantsVisualization } from '../request.js';
import { base64Image, base64ImageMap, dataInfo } from '../schemas.js';
import { generalOcrSettings } from '../tableRecognition.js';
import { readLlmModules, requestEndpoint, separateLlmModules } from './llmModules.js';
import {
  decodeVisualResult,
  FORMULA_PIPELINE,
  GENERAL_OCR,
  LAYOUT_DETECTION,
  LAYOUT_PARSER,
  layoutParsingPrunedResult,
  SEAL_OCR,
  SEAL_RECOGNITION,
  TABLE_RECOGNITION,
  type VisualPage,
  type VisualSettings,
} from './visualSettings.js';
import type worker from './visualWorker.js';

type Ops = OpsOf<typeof worker>;
type Ctx = EndpointContext<Ops, DocumentServingExtra>;

const configObject = optional(z.record(z.string(), z.unknown()));

function visualRequest(version: ChatOcrVersion) {
  const fields = z.object({
    ...documentRequestFields,
    useDocOrientationClassify: optional(z.boolean()),
    useDocUnwarping: optional(z.boolean()),
    useSealRecognition: optional(z.boolean()),
    useTableRecognition: optional(z.boolean()),
    layoutThreshold: optional(layoutThresholdSchema),
    layoutNms: optional(z.boolean()),
    layoutUnclipRatio: optional(unclipRatioSchema),
    layoutMergeBboxesMode: optional(mergeModeSchema),
    ...textOcrRequestFields,
    ...sealOcrRequestFields,
    visualize: visualizeField,
  });
  return version === 'v4' ? fields.extend({ useTextlineOrientation: optional(z.boolean()) }) : fields;
}
type VisualRequest = z.output<ReturnType<typeof visualRequest>> & { useTextlineOrientation?: boolean | null };

const visualResult = z.object({
  layoutParsingResults: z.array(
    z.object({ prunedResult: layoutParsingPrunedResult, outputImages: base64ImageMap().optional(), inputImage: base64Image().optional() }),
  ),
  visualInfo: z.array(z.record(z.string(), z.unknown())),
  dataInfo,
});

// PaddleX 3.3: these four reject null (non-Optional with a default); the rest accept it.
const minCharacters = z.number().int().default(3500);
const blockSize = z.number().int().positive().default(300);

const vectorRequest = z.object({
  visualInfo: z.array(visualInfoPage),
  minCharacters,
  blockSize,
  retrieverConfig: configObject,
});

function chatRequest(version: ChatOcrVersion) {
  return z.object({
    keyList: z.array(z.string()).min(1, 'keyList: give at least one key'),
    visualInfo: z.array(visualInfoPage),
    useVectorRetrieval: z.boolean().default(true),
    vectorInfo: configObject,
    minCharacters,
    textTaskDescription: optional(z.string()),
    textOutputFormat: optional(z.string()),
    textRulesStr: optional(z.string()),
    textFewShotDemoTextContent: optional(z.string()),
    textFewShotDemoKeyValueList: optional(z.string()),
    tableTaskDescription: optional(z.string()),
    tableOutputFormat: optional(z.string()),
    tableRulesStr: optional(z.string()),
    tableFewShotDemoTextContent: optional(z.string()),
    tableFewShotDemoKeyValueList: optional(z.string()),
    ...(version === 'v4'
      ? { mllmPredictInfo: configObject, mllmIntegrationStrategy: z.enum(MLLM_INTEGRATION_STRATEGIES).default('integration') }
      : {}),
    chatBotConfig: configObject,
    retrieverConfig: configObject,
  });
}
type ChatRequest = z.output<ReturnType<typeof chatRequest>> & {
  mllmPredictInfo?: Record<string, unknown> | null;
  mllmIntegrationStrategy?: (typeof MLLM_INTEGRATION_STRATEGIES)[number];
};

const mllmRequest = z.object({
  image: z.string(),
  keyList: z.array(z.string()).min(1, 'keyList: give at least one key'),
  mllmChatBotConfig: configObject,
});

/** PaddleX's mllm_pred prompt, after the key. */
const MLLM_PROMPT_SUFFIX =
  '\n请用图片中完整出现的内容回答，可以是单词、短语或句子，针对问题回答尽可能详细和完整，并保持格式、单位、符号和标点都与图片中的文字内容完全一致。';

function layoutParserOf(config: PipelineConfig): PipelineConfig {
  const parser = config.SubPipelines?.[LAYOUT_PARSER];
  if (!parser)
    throw invalidInput(
      'The visual stage is off: this server runs with use_layout_parser: False (set it True, with SubPipelines.LayoutParser).',
    );
  return parser;
}

/** PaddleX's layout_parsing get_model_settings + check_model_settings_valid, then each sub-pipeline's settings. */
function resolveVisualSettings(req: VisualRequest, ctx: Ctx): VisualSettings {
  const parser = layoutParserOf(ctx.config);
  const at = `SubPipelines.${LAYOUT_PARSER}.`;
  const { useDocPreprocessor, docSteps } = resolveDocPreprocessing(
    req,
    Boolean(parser.use_doc_preprocessor),
    parser.SubPipelines?.[DOC_PREPROCESSOR],
    `${at}SubPipelines.${DOC_PREPROCESSOR}.`,
  );
  if (useDocPreprocessor && !parser.SubPipelines?.[DOC_PREPROCESSOR]) {
    throw unloadedModelRequested(`Document preprocessing was requested, but it is off in this server (${at}use_doc_preprocessor: False).`);
  }
  const useSealRecognition = req.useSealRecognition ?? Boolean(parser.use_seal_recognition);
  const sealOcr = parser.SubPipelines?.[SEAL_RECOGNITION]?.SubPipelines?.[SEAL_OCR];
  if (useSealRecognition && !sealOcr) {
    throw unloadedModelRequested(`Seal recognition was requested, but it is off in this server (${at}use_seal_recognition: False).`);
  }
  const useTableRecognition = req.useTableRecognition ?? Boolean(parser.use_table_recognition);
  const tableConfig = parser.SubPipelines?.[TABLE_RECOGNITION];
  if (useTableRecognition && !tableConfig) {
    throw unloadedModelRequested(`Table recognition was requested, but it is off in this server (${at}use_table_recognition: False).`);
  }
  const generalOcr = parser.SubPipelines![GENERAL_OCR]!;
  const visualize = wantsVisualization(req.visualize, ctx);
  const maxOutputImgSize = ctx.serving.extra.max_output_img_size;
  // PaddleX's layout_parsing v1 passes no text parameters to the table step: its OCR keeps the YAML's
  const tableOcr = generalOcrSettings(tableConfig ?? { pipeline_name: 'table_recognition' }, {}, false, maxOutputImgSize);
  const ocrSettings = (
    ocr: PipelineConfig,
    key: string,
    useTextlineOrientation: boolean,
    textDet: OcrSettings['textDet'],
    scoreThresh: number | null | undefined,
  ): OcrSettings => ({
    useDocPreprocessor: false,
    docSteps: { useDocOrientationClassify: false, useDocUnwarping: false },
    useTextlineOrientation,
    returnWordBox: false,
    textDet,
    textRecScoreThresh:
      scoreThresh ?? readParam(ocr.SubModules?.TextRecognition ?? {}, 'score_thresh', z.number(), `${key}.SubModules.TextRecognition`, 0),
    visualize,
    maxOutputImgSize,
  });
  const generalKey = `${at}SubPipelines.${GENERAL_OCR}`;
  return {
    useDocPreprocessor,
    docSteps,
    useSealRecognition,
    useTableRecognition,
    useFormulaRecognition: Boolean(parser.use_formula_recognition),
    table: { ocr: tableOcr, cellOcr: tableOcr, useOcrResultsWithTableCells: false },
    layout: {
      threshold: req.layoutThreshold,
      layoutNms: req.layoutNms,
      layoutUnclipRatio: req.layoutUnclipRatio,
      layoutMergeBboxesMode: req.layoutMergeBboxesMode,
    },
    ocr: ocrSettings(
      generalOcr,
      generalKey,
      resolveTextlineOrientation(req.useTextlineOrientation, generalOcr, `${generalKey}.`),
      requestedDet(req, 'text'),
      req.textRecScoreThresh,
    ),
    seal: ocrSettings(
      sealOcr ?? generalOcr,
      `${at}SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR}`,
      false,
      requestedDet(req, 'seal'),
      req.sealRecScoreThresh,
    ),
    visualize,
    maxOutputImgSize,
  };
}

function toLayoutParsingResult(page: VisualPage) {
  const images = Object.entries(page.outputImages);
  return {
    prunedResult: page.prunedResult,
    ...(images.length ? { outputImages: Object.fromEntries(images.map(([key, bytes]) => [key, toBase64(bytes)])) } : {}),
    ...(page.inputImage ? { inputImage: toBase64(page.inputImage) } : {}),
  };
}

/** The YAML's visual stage without what it switches off; what this server cannot run stops startup with the key to change. */
function activeVisualStage(parser: PipelineConfig): PipelineConfig {
  const at = `SubPipelines.${LAYOUT_PARSER}`;
  // PaddleX builds whatever pipeline the YAML names; its v3 and v4 YAMLs name layout_parsing, the one this stage is
  if (parser.pipeline_name !== 'layout_parsing') {
    throw new ConfigError(
      `${at}.pipeline_name: the ChatOCR visual stage runs layout_parsing (PaddleX's v3 and v4 YAMLs), got ${JSON.stringify(parser.pipeline_name)}`,
    );
  }
  if (parser.use_general_ocr === false)
    throw new ConfigError(`${at}.use_general_ocr: False is not supported (the visual stage reads text with the general OCR)`);
  const subPipelines = parser.SubPipelines ?? {};
  if (!subPipelines[GENERAL_OCR]) throw new ConfigError(`${at}.SubPipelines.${GENERAL_OCR} is missing (the OCR sub-pipeline)`);
  const SubPipelines: Record<string, PipelineConfig> = { [GENERAL_OCR]: activeOcrConfig(subPipelines[GENERAL_OCR]) };
  if (parser.use_doc_preprocessor && subPipelines[DOC_PREPROCESSOR])
    SubPipelines[DOC_PREPROCESSOR] = activeDocPreprocessingConfig(subPipelines[DOC_PREPROCESSOR]);
  if (parser.use_seal_recognition) {
    const seal = subPipelines[SEAL_RECOGNITION];
    const sealOcr = seal?.SubPipelines?.[SEAL_OCR];
    if (!seal || !sealOcr)
      throw new ConfigError(
        `${at}.SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR} is missing (or set use_seal_recognition: False)`,
      );
    SubPipelines[SEAL_RECOGNITION] = { ...seal, SubModules: {}, SubPipelines: { [SEAL_OCR]: activeOcrConfig(sealOcr) } };
  }
  if (parser.use_formula_recognition) {
    const formula = subPipelines[FORMULA_PIPELINE];
    if (!formula) throw new ConfigError(`${at}.SubPipelines.${FORMULA_PIPELINE} is missing (or set use_formula_recognition: False)`);
    // the layout's formula boxes are given to the formula step
    const { [LAYOUT_DETECTION]: _layout, ...SubModules } = formula.SubModules ?? {};
    SubPipelines[FORMULA_PIPELINE] = { ...formula, SubModules, SubPipelines: {} };
  }
  if (parser.use_table_recognition) {
    const table = subPipelines[TABLE_RECOGNITION];
    if (!table) throw new ConfigError(`${at}.SubPipelines.${TABLE_RECOGNITION} is missing (or set use_table_recognition: False)`);
    // PaddleX's layout_parsing v1 calls table_recognition with its defaults; table_recognition_v2's switches are not resolved here
    if (table.pipeline_name !== 'table_recognition')
      throw new ConfigError(`${at}.SubPipelines.${TABLE_RECOGNITION}.pipeline_name: the ChatOCR visual stage runs table_recognition`);
    // the layout's boxes and the page's OCR are given to the table step
    const { LayoutDetection: _layout, ...SubModules } = table.SubModules ?? {};
    const tableOcr = table.SubPipelines?.[GENERAL_OCR];
    SubPipelines[TABLE_RECOGNITION] = { ...table, SubModules, SubPipelines: tableOcr ? { [GENERAL_OCR]: activeOcrConfig(tableOcr) } : {} };
  }
  return { ...parser, SubPipelines };
}

export function chatOcrPipeline(version: ChatOcrVersion): PipelineDescriptor<Ops, DocumentServingExtra> {
  const useMllm = (config: PipelineConfig) => version === 'v4' && readParam(config, 'use_mllm_predict', z.boolean(), '(top level)', true);
  const llm = (config: PipelineConfig) => readLlmModules(config, { mllm: useMllm(config), ensemble: version === 'v4' });

  const endpoints: Array<EndpointSpec<any, any, Ops, DocumentServingExtra>> = [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/chatocr-visual',
      operationId: 'analyzeImages',
      summary: `Layout parsing of an image or PDF and the visual info the LLM stage reads (PaddleX ${pipelineName(version)})`,
      request: visualRequest(version),
      result: visualResult,
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const { pages, dataInfo } = await runDocument(req, ctx, resolveVisualSettings(req as VisualRequest, ctx), (page) => page);
        return {
          layoutParsingResults: pages.map(toLayoutParsingResult),
          visualInfo: pages.map((page) => ({ ...decodeVisualResult(page, version === 'v4') })),
          dataInfo,
        };
      },
    }),
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/chatocr-vector',
      operationId: 'buildVectorStore',
      summary: 'Chunks and embeds the visual info for retrieval (vectorInfo: pipeserve vector store v1, see docs/vector-store-format.md)',
      request: vectorRequest,
      result: z.object({ vectorInfo: z.record(z.string(), z.unknown()) }),
      input: { kind: 'none', field: 'visualInfo' },
      usesInstances: false,
      async handle(req, ctx) {
        const retriever = requestEndpoint(
          req.retrieverConfig,
          'retrieverConfig',
          'retriever',
          llm(ctx.config).retriever,
          ctx.allowPrivateUrls,
        );
        return { vectorInfo: await buildVector(req.visualInfo, version, req.minCharacters, req.blockSize, retriever, ctx.signal) };
      },
    }),
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/chatocr-chat',
      operationId: 'chat',
      summary: 'Extracts the value of each key with the LLM (chatResult: key → value)',
      request: chatRequest(version),
      result: z.object({ chatResult: z.record(z.string(), z.unknown()) }),
      input: { kind: 'none', field: 'keyList' },
      usesInstances: false,
      async handle(request, ctx) {
        const req = request as ChatRequest;
        const modules = llm(ctx.config);
        const overrides = (prefix: 'text' | 'table') => ({
          task_description: req[`${prefix}TaskDescription`],
          output_format: req[`${prefix}OutputFormat`],
          rules_str: req[`${prefix}RulesStr`],
          few_shot_demo_text_content: req[`${prefix}FewShotDemoTextContent`],
          few_shot_demo_key_value_list: req[`${prefix}FewShotDemoKeyValueList`],
        });
        const chatResult = await extractKeyInformation(
          {
            version,
            // PaddleX v4's format_key turns no-break spaces in keys into spaces
            keys: version === 'v4' ? req.keyList.map((key) => key.replaceAll('\xa0', ' ')) : req.keyList,
            pages: req.visualInfo,
            useVectorRetrieval: req.useVectorRetrieval,
            vectorInfo: req.vectorInfo,
            minCharacters: req.minCharacters,
            textOverrides: overrides('text'),
            tableOverrides: overrides('table'),
            chatBot: requestEndpoint(req.chatBotConfig, 'chatBotConfig', 'chat_bot', modules.chatBot, ctx.allowPrivateUrls),
            configuredChatBot: modules.chatBot,
            retriever: requestEndpoint(req.retrieverConfig, 'retrieverConfig', 'retriever', modules.retriever, ctx.allowPrivateUrls),
            prompts: modules.prompts,
            mllmPredictInfo: req.mllmPredictInfo,
            mllmIntegrationStrategy: req.mllmIntegrationStrategy,
            useMllm: useMllm(ctx.config),
          },
          ctx.signal,
        );
        return { chatResult };
      },
    }),
  ];
  if (version === 'v4') {
    endpoints.push(
      defineEndpoint<Ops, DocumentServingExtra>()({
        path: '/chatocr-mllm',
        operationId: 'invokeMllm',
        summary: 'Asks the multimodal LLM each key about the image (mllmPredictInfo: key → answer)',
        request: mllmRequest,
        result: z.object({ mllmPredictInfo: z.record(z.string(), z.unknown()) }),
        input: { kind: 'image', field: 'image' },
        async handle(req, ctx) {
          if (!useMllm(ctx.config)) throw invalidInput('MLLM prediction is disabled in this server (use_mllm_predict: False).');
          const mllm = requestEndpoint(req.mllmChatBotConfig, 'mllmChatBotConfig', 'chat_bot', llm(ctx.config).mllm!, ctx.allowPrivateUrls);
          const image = await ctx.run('mllmImage', { image: await ctx.loadInput(req.image, 'image') });
          // the MLLM answers on this thread's event loop: the lane is free for other requests meanwhile
          ctx.releaseInstances();
          const mllmPredictInfo: Record<string, string | null> = {};
          for (const key of req.keyList.map((k) => k.replaceAll('\xa0', ' '))) {
            mllmPredictInfo[key] = (await chat(mllm, `${key}${MLLM_PROMPT_SUFFIX}`, ctx.signal, image)).content;
          }
          return { mllmPredictInfo };
        },
      }),
    );
  }

  return definePipeline<Ops, DocumentServingExtra>({
    pipelineName: pipelineName(version),
    worker: new URL('./visualWorker.js', import.meta.url).href,
    servingExtra: documentServingExtra,
    activeConfig(config) {
      const active = separateLlmModules(config);
      llm(active); // a bad LLM or prompt block stops startup
      const { LayoutParser, ...SubPipelines } = active.SubPipelines ?? {};
      const useLayoutParser = readParam(config, 'use_layout_parser', z.boolean(), '(top level)', true);
      if (useLayoutParser && !LayoutParser)
        throw new ConfigError(`SubPipelines.${LAYOUT_PARSER} is missing (or set use_layout_parser: False)`);
      return {
        ...active,
        SubPipelines: useLayoutParser ? { ...SubPipelines, [LAYOUT_PARSER]: activeVisualStage(LayoutParser!) } : SubPipelines,
      };
    },
    endpoints,
  });
}

function pipelineName(version: ChatOcrVersion): string {
  return version === 'v3' ? 'PP-ChatOCRv3-doc' : 'PP-ChatOCRv4-doc';
}
