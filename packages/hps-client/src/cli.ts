/**
 * The command line of an HPS SDK's `client.mjs`: PaddleX's per-pipeline `client.py` (argparse flags,
 * subcommands, the requests it builds and chains), driven by a spec the SDK generator writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { closeClients, type HpsEnvelope, prepareInputFile, saveOutputFile, tritonRequest } from './index.js';

/** One argparse argument of a PaddleX client.py. */
export interface ClientFlag {
  /** as PaddleX spells it, without the dashes (`key-list`, `prompt_type`) */
  name: string;
  type: 'string' | 'int' | 'boolean';
  /** argparse `nargs="+"`: one or more values after the flag */
  many?: boolean;
  required?: boolean;
  default?: string | number;
  choices?: ReadonlyArray<string | number>;
  /** a flag of the main parser, given before the subcommand (PaddleX puts `--no-visualization` there) */
  global?: boolean;
  /** the request field it fills; none for flags the chain reads itself (`--key-list`) */
  field?: string;
  /**
   * how the value enters the request: a path or URL as prepare_input_file sends it, a Python literal
   * (literal_eval; JSON here), image/label pairs (`[]` when absent, as PaddleX's index-build), or
   * `false` when the boolean flag is given (`--no-visualization` → `visualize: false`); else as parsed
   */
  encode?: 'file' | 'literal' | 'imageLabelPairs' | 'false';
}

export interface ClientCommand {
  /** the Triton model of the (first) request */
  model: string;
  flags: ClientFlag[];
  /** the requests PaddleX's client sends after the first one, with its result */
  chain?: 'chatocr' | 'doctrans';
}

/** The commands of a client: PaddleX's subparsers by name, or a single one under `''`. */
export type ClientSpec = Record<string, ClientCommand>;

type Values = Record<string, string | number | boolean | Array<string | number> | undefined>;

const URL_FLAG: ClientFlag = { name: 'url', type: 'string', default: 'localhost:8001', global: true };
const REQUEST_TIMEOUT_S = 600;

class UsageError extends Error {}

/** Runs the client as PaddleX's client.py runs: exit 2 on a usage error, 1 on an error envelope. */
export async function runClient(spec: ClientSpec, argv: readonly string[], prog = 'client.mjs'): Promise<void> {
  const usage = usageText(spec, prog);
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  let parsed: { command: ClientCommand; values: Values; input: Record<string, unknown> };
  try {
    const { command, values } = parseCommandLine(spec, argv);
    parsed = { command, values, input: await requestOf(command.flags, values) };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${usage}\n${prog}: error: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    await run(parsed.command, parsed.values, parsed.input);
  } finally {
    closeClients();
  }
}

function globalFlags(spec: ClientSpec): ClientFlag[] {
  const byName = new Map([URL_FLAG, ...Object.values(spec).flatMap((c) => c.flags)].filter((f) => f.global).map((f) => [f.name, f]));
  return [...byName.values()];
}

function parseCommandLine(spec: ClientSpec, argv: readonly string[]): { command: ClientCommand; values: Values } {
  const single = spec[''];
  if (single) return { command: single, values: parseFlags([URL_FLAG, ...single.flags], argv, false).values };
  const global = parseFlags(globalFlags(spec), argv, true);
  const [name, ...rest] = argv.slice(global.consumed);
  const names = Object.keys(spec);
  if (name === undefined) throw new UsageError(`the following arguments are required: {${names.join(',')}}`);
  const command = spec[name];
  if (!command) throw new UsageError(`argument cmd: invalid choice: '${name}' (choose from ${names.map((n) => `'${n}'`).join(', ')})`);
  const local = parseFlags(
    command.flags.filter((f) => !f.global),
    rest,
    false,
  );
  return { command, values: { ...global.values, ...local.values } };
}

/**
 * argparse's reading of `--name value`, `--name=value`, `--name v1 v2` (nargs="+") and boolean
 * flags; the last occurrence wins. With `stopAtPositional`, the first bare word ends the flags (the subcommand).
 * Written here rather than with node:util's parseArgs (no nargs="+", required flags, choices or
 * subcommands) or commander (its own messages): users of PaddleX's client.py get argparse's usage
 * line and error wording, and its exit code 2.
 */
function parseFlags(flags: ClientFlag[], argv: readonly string[], stopAtPositional: boolean): { values: Values; consumed: number } {
  const values: Values = {};
  const unrecognized: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('--')) {
      if (stopAtPositional) break;
      unrecognized.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const flag = flags.find((f) => f.name === name);
    if (!flag) {
      unrecognized.push(token);
      continue;
    }
    const inline = eq < 0 ? [] : [token.slice(eq + 1)];
    if (flag.type === 'boolean') {
      if (inline.length) throw new UsageError(`argument --${name}: ignored explicit argument '${inline[0]}'`);
      values[name] = true;
      continue;
    }
    const given = [...inline];
    while ((flag.many || given.length === 0) && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) given.push(argv[++i]!);
    if (given.length === 0) throw new UsageError(`argument --${name}: expected ${flag.many ? 'at least one argument' : 'one argument'}`);
    const converted = given.map((v) => convert(flag, v));
    values[name] = flag.many ? converted : converted[0];
  }
  if (unrecognized.length) throw new UsageError(`unrecognized arguments: ${unrecognized.join(' ')}`);
  const missing = flags.filter((f) => f.required && values[f.name] === undefined).map((f) => `--${f.name}`);
  if (missing.length) throw new UsageError(`the following arguments are required: ${missing.join(', ')}`);
  for (const f of flags) if (values[f.name] === undefined && f.default !== undefined) values[f.name] = f.default;
  return { values, consumed: i };
}

function convert(flag: ClientFlag, raw: string): string | number {
  const value = flag.type === 'int' ? Number(raw) : raw;
  if (flag.type === 'int' && !/^[-+]?\d+$/.test(raw.trim())) throw new UsageError(`argument --${flag.name}: invalid int value: '${raw}'`);
  if (flag.choices && !flag.choices.includes(value)) {
    const shown = (v: string | number) => (typeof v === 'string' ? `'${v}'` : String(v));
    throw new UsageError(`argument --${flag.name}: invalid choice: ${shown(value)} (choose from ${flag.choices.map(shown).join(', ')})`);
  }
  return value;
}

function usageText(spec: ClientSpec, prog: string): string {
  const single = spec[''];
  const show = (f: ClientFlag) => {
    const meta = f.choices ? `{${f.choices.join(',')}}` : f.name.toUpperCase().replace(/-/g, '_');
    const text = f.type === 'boolean' ? `--${f.name}` : f.many ? `--${f.name} ${meta} [${meta} ...]` : `--${f.name} ${meta}`;
    return f.required ? text : `[${text}]`;
  };
  if (single) return `usage: ${prog} [-h] ${[...single.flags, URL_FLAG].map(show).join(' ')}`;
  const lines = [`usage: ${prog} [-h] ${globalFlags(spec).map(show).join(' ')} {${Object.keys(spec).join(',')}} ...`];
  for (const [name, command] of Object.entries(spec)) {
    lines.push(
      `       ${prog} ${name} ${command.flags
        .filter((f) => !f.global)
        .map(show)
        .join(' ')}`.trimEnd(),
    );
  }
  return lines.join('\n');
}

async function requestOf(flags: ClientFlag[], values: Values): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {};
  for (const flag of flags) {
    const value = values[flag.name];
    if (flag.field === undefined) continue;
    if (flag.encode === 'imageLabelPairs') input[flag.field] = await imageLabelPairs((value as string[] | undefined) ?? []);
    else if (value === undefined || value === false) continue;
    else if (flag.encode === 'false') input[flag.field] = false;
    else if (flag.encode === 'file') input[flag.field] = await prepareInputFile(value as string);
    else if (flag.encode === 'literal') input[flag.field] = pythonLiteral(flag, value as string);
    else input[flag.field] = value;
  }
  return input;
}

/** literal_eval of the values these flags take (lists and tuples of numbers): as JSON, tuples read as lists. */
function pythonLiteral(flag: ClientFlag, text: string): unknown {
  try {
    return JSON.parse(text.replace(/\(/g, '[').replace(/\)/g, ']'));
  } catch {
    throw new UsageError(`argument --${flag.name}: not a literal: '${text}'`);
  }
}

async function imageLabelPairs(items: string[]): Promise<Array<{ image: string; label: string }>> {
  if (items.length % 2 !== 0) throw new UsageError('The number of image-label pairs must be even.');
  const pairs = [];
  for (let i = 0; i < items.length; i += 2) pairs.push({ image: await prepareInputFile(items[i]!), label: items[i + 1]! });
  return pairs;
}

class EnvelopeError extends Error {}

async function call(url: string, model: string, input: unknown, failure?: string): Promise<Record<string, any>> {
  const output: HpsEnvelope = await tritonRequest(url, model, input, { timeout: REQUEST_TIMEOUT_S });
  if (output.errorCode !== 0) {
    throw new EnvelopeError(`${failure ? `${failure}\n` : ''}Error code: ${output.errorCode}\nError message: ${output.errorMsg}`);
  }
  return output.result as Record<string, any>;
}

async function run(command: ClientCommand, values: Values, input: Record<string, unknown>): Promise<void> {
  const url = values.url as string;
  try {
    const first = await call(url, command.model, input, command.chain && 'Failed to analyze the images');
    const printed =
      command.chain === 'chatocr'
        ? await chatOcr(url, first, values)
        : command.chain === 'doctrans'
          ? await docTranslation(url, first, values)
          : first;
    const savedFiles = await saveOutputImages(printed, 'output');
    console.log(JSON.stringify({ ...printed, savedFiles }, null, 2));
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}

/** PaddleX's PP-ChatOCR client: visual result → vector store → (with --invoke-mllm, the MLLM) → chat over --key-list. */
async function chatOcr(url: string, visual: Record<string, any>, values: Values): Promise<Record<string, unknown>> {
  const keyList = values['key-list'];
  const vector = await call(url, 'chatocr-vector', { visualInfo: visual.visualInfo }, 'Failed to build a vector store');
  const chat: Record<string, unknown> = { keyList, visualInfo: visual.visualInfo, useVectorRetrieval: true, vectorInfo: vector.vectorInfo };
  if (values['invoke-mllm']) {
    const mllm = await call(
      url,
      'chatocr-mllm',
      { image: await prepareInputFile(values.file as string), keyList },
      'Failed to invoke the MLLM',
    );
    chat.mllmPredictInfo = mllm.mllmPredictInfo;
  }
  const result = await call(url, 'chatocr-chat', chat, 'Failed to chat with the LLM');
  return { layoutParsingResults: visual.layoutParsingResults, chatResult: result.chatResult };
}

/**
 * PaddleX's PP-DocTranslation client: each page's Markdown (and its images) saved to markdown_<i>/,
 * the Markdown without images sent for translation to --target-language, the translation saved beside it.
 */
async function docTranslation(url: string, visual: Record<string, any>, values: Values): Promise<Record<string, unknown>> {
  const markdownList = [];
  for (const [i, page] of (visual.layoutParsingResults as Array<Record<string, any>>).entries()) {
    const dir = `markdown_${i}`;
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'doc.md'), page.markdown.text);
    for (const [file, image] of Object.entries(page.markdown.images as Record<string, string>)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await saveOutputFile(image, path.join(dir, file));
    }
    const { images: _saved, ...markdown } = page.markdown;
    page.markdown = markdown;
    markdownList.push(markdown);
  }
  const translated = await call(
    url,
    'doctrans-translate',
    { markdownList, targetLanguage: values['target-language'] },
    'Failed to translate the markdown',
  );
  for (const [i, page] of (translated.translationResults as Array<Record<string, any>>).entries()) {
    await writeFile(path.join(`markdown_${i}`, 'doc_translated.md'), page.markdown.text);
  }
  return { layoutParsingResults: visual.layoutParsingResults, translationResults: translated.translationResults };
}

/** Result images (keys ending in image/Image) and a CSV result saved as files named by their place in the result; returns the names. */
async function saveOutputImages(value: unknown, stem: string, out: string[] = []): Promise<string[]> {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) await saveOutputImages(v, `${stem}_${i}`, out);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const [key, v] of Object.entries(record)) {
      const extension = /(image|Image)$/.test(key) ? 'jpg' : key === 'csv' ? 'csv' : undefined;
      if (extension && typeof v === 'string') {
        const file = `${stem}_${key}.${extension}`;
        await saveOutputFile(v, file);
        out.push(file);
        delete record[key];
      } else await saveOutputImages(v, `${stem}_${key}`, out);
    }
  }
  return out;
}
