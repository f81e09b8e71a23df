/**
 * PP-ChatOCR test setups: the built-in YAML with a fixed-box layout model (fixtures from
 * docFixtures), the npm-shipped OCR models, seal, table and formula recognition off unless their
 * fixtures are given, and the LLM modules pointed at a local OpenAI-compatible stub; and a rendered invoice-like page.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { type FixedBox, fixedBoxDetectorDir } from './docFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { REPO_ROOT } from './paths.js';
import { keywordEmbedding, type LlmStub, startLlmStub } from './llmStub.js';
import { renderTextImage } from './textImages.js';

export const CHAT_MODEL = 'stub-llm';
export const EMBEDDING_MODEL = 'stub-embedding';
export const MLLM_MODEL = 'stub-mllm';
export const API_KEY = 'sk-secret-test-key-1234';

/** The invoice page's lines (rendered at 40 px, DejaVu Sans), the first one inside the layout fixture's `image` box. */
export const INVOICE_LINES = ['ACME Trading Co.', 'Invoice: INV-0815', 'Date: 2024-03-15', 'Total: 1280.00'];
/** One RT-DETR-H_layout_3cls `image` region (class 0) over the page's top quarter, i.e. the first line. */
export const INVOICE_LAYOUT: FixedBox[] = [{ classId: 0, score: 0.9, box: [0, 0, 1, 0.25] }];

export async function renderInvoice(): Promise<Uint8Array> {
  return (await renderTextImage(INVOICE_LINES, { fontSize: 40 })).png;
}

export interface ChatOcrYamlOptions {
  llmBaseUrl: string;
  /** per-attempt timeout of the LLM upstreams, seconds */
  timeout?: number;
  maxRetries?: number;
  layout?: FixedBox[];
  /** the seal text detector's model dir: seal recognition on (else off) */
  sealDetDir?: string;
  /** the SLANet_plus structure model's dir: table recognition on (else off) */
  tableStructureDir?: string;
  /** the formula model's dir: formula recognition on, with layout_parsing.yaml's FormulaRecognition sub-pipeline (else off) */
  formulaDir?: string;
  /** the layout fixture's inference.yml (its label list), RT-DETR-H_layout_3cls's unless given */
  layoutYml?: Record<string, unknown>;
}

export async function chatOcrYaml(name: 'PP-ChatOCRv3-doc' | 'PP-ChatOCRv4-doc', options: ChatOcrYamlOptions): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${name}.yaml`), 'utf8'));
  const upstream = (model: string) => ({
    base_url: options.llmBaseUrl,
    api_type: 'openai',
    api_key: API_KEY,
    model_name: model,
    ...(options.timeout ? { timeout: options.timeout } : {}),
    ...(options.maxRetries !== undefined ? { max_retries: options.maxRetries } : {}),
  });
  Object.assign(config.SubModules.LLM_Chat, upstream(CHAT_MODEL));
  Object.assign(config.SubModules.LLM_Retriever, upstream(EMBEDDING_MODEL));
  if (config.SubModules.MLLM_Chat) Object.assign(config.SubModules.MLLM_Chat, upstream(MLLM_MODEL));
  const parser = config.SubPipelines.LayoutParser;
  parser.use_doc_preprocessor = false;
  parser.use_seal_recognition = Boolean(options.sealDetDir);
  if (options.sealDetDir) parser.SubPipelines.SealRecognition.SubPipelines.SealOCR.SubModules.TextDetection.model_dir = options.sealDetDir;
  parser.use_table_recognition = Boolean(options.tableStructureDir);
  if (options.tableStructureDir)
    parser.SubPipelines.TableRecognition.SubModules.TableStructureRecognition.model_dir = options.tableStructureDir;
  parser.use_formula_recognition = Boolean(options.formulaDir);
  if (options.formulaDir) {
    parser.SubPipelines.FormulaRecognition = {
      pipeline_name: 'formula_recognition',
      use_layout_detection: false,
      use_doc_preprocessor: false,
      SubModules: {
        FormulaRecognition: {
          module_name: 'formula_recognition',
          model_name: 'PP-FormulaNet-L',
          model_dir: options.formulaDir,
          batch_size: 5,
        },
      },
    };
  }
  parser.SubModules.LayoutDetection.model_dir = await fixedBoxDetectorDir(
    'RT-DETR-H_layout_3cls',
    options.layout ?? INVOICE_LAYOUT,
    ...(options.layoutYml ? [options.layoutYml] : []),
  );
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${name}-`)), `${name}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

/**
 * A stand-in for the LLM that the tests can reason about: reads the key list and the OCR text out
 * of a KIE prompt and answers, as JSON, the token after "<key>:" for each key found.
 */
export function answerFromPrompt(prompt: string): string {
  const keys = [...(prompt.match(/(?:关键词列表：\[|问题列表：)\[(.*)\]\]?。$/)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]!);
  const content = prompt.match(/(?:OCR文字|表格内容)：```([\s\S]*)```/)?.[1] ?? '';
  const answer: Record<string, string> = {};
  for (const key of keys) {
    const value = content.match(new RegExp(`${key}\\s*[:：]\\s*(\\S+)`))?.[1];
    answer[key] = value ?? '未知';
  }
  return `\`\`\`json\n${JSON.stringify(answer)}\n\`\`\``;
}

let sharedStub: Promise<LlmStub> | undefined;
/** One stub per process for suites that only need answers (the conformance suite): unref'd, never closed. */
export function sharedLlmStub(): Promise<LlmStub> {
  sharedStub ??= startLlmStub({ unref: true }).then((stub) => {
    stub.answer = answerFromPrompt;
    stub.embedding = keywordEmbedding(['Invoice', 'Total', 'Date', 'ACME']);
    return stub;
  });
  return sharedStub;
}

/** Where `invoiceImageFile` writes the rendered invoice (PNG), for `--input`. */
export const INVOICE_FILE = path.join(fixtureTempRoot(), 'invoice.png');
let invoiceWritten: Promise<void> | undefined;
export async function invoiceImageFile(): Promise<string> {
  invoiceWritten ??= renderInvoice().then((png) => writeFile(INVOICE_FILE, png));
  await invoiceWritten;
  return INVOICE_FILE;
}
