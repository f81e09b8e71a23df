/**
 * OpenAI-compatible HTTP APIs (chat completions, completions, embeddings) as PaddleX's chat_bot,
 * retriever and MLLM modules are configured (`model_name`, `base_url`, `api_type`, `api_key`).
 * Plain `fetch` rather than the `openai` SDK: this module owns the retry policy, the per-attempt
 * timeout, the abort on client disconnect and the error envelope naming the upstream, which the SDK
 * would each do its own way (its own retries and error classes), and it needs nothing more of the
 * protocol than two JSON POSTs. Calls run on the HTTP side's event loop: no inference instance waits.
 * The API key goes only into the Authorization header; it is never logged nor put in a message.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch, type Response } from 'undici';
import { z } from 'zod';
import { ApiError, invalidInput } from '../../../errors.js';
import { checkPublicUrl, privateAddressRefusal, publicOnlyDispatcher } from '../../../io/fetchUrl.js';

/** One configured upstream, checked. */
export interface LlmEndpoint {
  /** where it was configured, for messages: e.g. `SubModules.LLM_Chat` or `chatBotConfig` */
  origin: string;
  modelName: string;
  baseUrl: string;
  apiKey: string;
  /** PaddleX's end_point of chat bots: chat completions (default) or plain completions */
  endPoint: 'chat_completion' | 'completion';
  maxTokens: number;
  timeoutMs: number;
  maxRetries: number;
  /** a request-level config: its base_url may not reach loopback, private or link-local addresses (unless --allow-private-urls) */
  publicOnly: boolean;
}

/** Per-attempt time limit and retries when the YAML or request config does not set `timeout` / `max_retries` (pipeserve keys). */
export const DEFAULT_LLM_TIMEOUT_S = 120;
export const DEFAULT_LLM_RETRIES = 2;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;
/** texts per embeddings request (langchain's OpenAIEmbeddings chunk_size, which PaddleX uses) */
const EMBEDDING_BATCH = 1000;

export type LlmModuleKind = 'chat_bot' | 'retriever';

const configSchema = z.looseObject({
  model_name: z.string({ error: 'model_name is required (a string)' }),
  base_url: z.string({ error: 'base_url is required (e.g. https://api.openai.com/v1)' }).url('base_url must be an http(s) URL'),
  api_type: z.string({ error: 'api_type is required' }),
  api_key: z.string({ error: 'api_key is required (a string)' }),
  end_point: z.enum(['completion', 'chat_completion']).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  timeout: z.number().positive().nullish(),
  max_retries: z.number().int().min(0).max(10).nullish(),
});

/** api_type values PaddleX accepts per module kind; qianfan's v2 API is OpenAI-compatible, so both speak the same protocol here. */
const API_TYPES: Record<LlmModuleKind, readonly string[]> = { chat_bot: ['openai'], retriever: ['openai', 'qianfan'] };

/**
 * Checks a chat_bot / retriever config (YAML block or request override). Problems are reported
 * through `fail` (a ConfigError at startup, a 422 for a request).
 */
export function readLlmEndpoint(raw: unknown, origin: string, kind: LlmModuleKind, fail: (message: string) => Error): LlmEndpoint {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw fail(
      `${origin}: ${parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
  const c = parsed.data;
  if (!API_TYPES[kind].includes(c.api_type)) {
    throw fail(`${origin}.api_type: must be one of ${API_TYPES[kind].join(', ')} for a ${kind} (got ${JSON.stringify(c.api_type)})`);
  }
  if (!/^https?:$/.test(new URL(c.base_url).protocol)) throw fail(`${origin}.base_url: must be an http(s) URL`);
  return {
    origin,
    // PaddleX's chat bot renames the historical model name; its retrievers do not
    modelName: kind === 'chat_bot' && c.model_name === 'ernie-3.5' ? 'ernie-3.5-8k' : c.model_name,
    baseUrl: c.base_url.replace(/\/+$/, ''),
    apiKey: c.api_key,
    endPoint: c.end_point ?? 'chat_completion',
    maxTokens: c.max_tokens ?? 1024,
    timeoutMs: (c.timeout ?? DEFAULT_LLM_TIMEOUT_S) * 1000,
    maxRetries: c.max_retries ?? DEFAULT_LLM_RETRIES,
    publicOnly: false,
  };
}

/**
 * A config a request brought (chatBotConfig, retrieverConfig, mllmChatBotConfig): checked as
 * `readLlmEndpoint` does (422s), and, unless the server allows private URLs, held to public
 * addresses as URL inputs are: a literal non-public host now, a host name when it is resolved.
 */
export function readRequestLlmEndpoint(raw: unknown, field: string, kind: LlmModuleKind, allowPrivateUrls: boolean): LlmEndpoint {
  const endpoint = readLlmEndpoint(raw, field, kind, invalidInput);
  if (allowPrivateUrls) return endpoint;
  checkPublicUrl(endpoint.baseUrl, `${field}.base_url`);
  return { ...endpoint, publicOnly: true };
}

/** The upstream as messages name it: model and URL without credentials or query. */
export function describeUpstream(endpoint: LlmEndpoint): string {
  const url = new URL(endpoint.baseUrl);
  return `model "${endpoint.modelName}" at ${url.origin}${url.pathname} (${endpoint.origin})`;
}

class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (header == null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** At most 200 characters of an upstream body, with the key blanked should the upstream echo it. */
function excerpt(body: string, apiKey: string): string {
  const clipped = body.length > 200 ? `${body.slice(0, 200)}…` : body;
  return apiKey ? clipped.replaceAll(apiKey, '[api_key]') : clipped;
}

/** One POST to an upstream: what to send, and how to read the answer (undefined: not the expected shape). */
interface UpstreamCall<T> {
  endpoint: LlmEndpoint;
  path: string;
  body: unknown;
  parse: (json: unknown) => T | undefined;
  signal: AbortSignal;
}

async function attempt<T>({ endpoint, path, body, parse, signal }: UpstreamCall<T>): Promise<T> {
  const timeout = AbortSignal.timeout(endpoint.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${endpoint.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.apiKey}` },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, timeout]),
      // a redirect could lead a public-only upstream to an address the dispatcher never resolves (an IP literal)
      ...(endpoint.publicOnly ? { dispatcher: publicOnlyDispatcher(), redirect: 'error' as const } : {}),
    });
    text = await response.text();
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    const refused = endpoint.publicOnly ? privateAddressRefusal(err, `${endpoint.origin}.base_url`) : undefined;
    if (refused) throw refused;
    if (timeout.aborted) throw new RetryableFailure(`no answer within ${endpoint.timeoutMs / 1000} s`, true);
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new RetryableFailure(`connection failed (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
  if (response.status === 429 || response.status >= 500) {
    throw new RetryableFailure(
      `HTTP ${response.status}: ${excerpt(text, endpoint.apiKey)}`,
      false,
      retryAfterMs(response.headers.get('retry-after')),
    );
  }
  if (!response.ok) {
    throw new ApiError(
      502,
      `The ${describeUpstream(endpoint)} refused the request: HTTP ${response.status}: ${excerpt(text, endpoint.apiKey)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RetryableFailure(`the answer is not JSON: ${excerpt(text, endpoint.apiKey)}`);
  }
  const parsed = parse(json);
  if (parsed === undefined)
    throw new RetryableFailure(`the answer is not an OpenAI ${path.slice(1)} response: ${excerpt(text, endpoint.apiKey)}`);
  return parsed;
}

/**
 * POSTs `body` to `path`, retrying timeouts, connection failures, 429, 5xx and unusable bodies with
 * exponential backoff (or the upstream's Retry-After). When every attempt failed: 504 if the last
 * one timed out, else 502, naming the upstream. Other 4xx answers fail at once (502).
 */
async function post<T>(call: UpstreamCall<T>): Promise<T> {
  const { endpoint, signal } = call;
  for (let attemptNo = 0; ; attemptNo++) {
    try {
      return await attempt(call);
    } catch (err) {
      if (!(err instanceof RetryableFailure)) throw err;
      if (attemptNo >= endpoint.maxRetries) {
        const attempts = attemptNo + 1;
        throw new ApiError(
          err.timedOut ? 504 : 502,
          `The ${describeUpstream(endpoint)} failed after ${attempts} attempt${attempts > 1 ? 's' : ''}: ${err.message}`,
        );
      }
      const backoff = Math.min(err.retryAfterMs ?? BACKOFF_BASE_MS * 2 ** attemptNo, BACKOFF_CAP_MS);
      await sleep(backoff, undefined, { signal });
    }
  }
}

const chatCompletionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullish(), reasoning_content: z.string().nullish() }) })).min(1),
});
const completionSchema = z.object({ choices: z.array(z.object({ text: z.string().nullish() })).min(1) });
const embeddingsSchema = z.object({ data: z.array(z.object({ index: z.number().int().optional(), embedding: z.array(z.number()) })) });

export interface ChatAnswer {
  content: string | null;
  reasoningContent: string | null;
}

/**
 * PaddleX's OpenAIBotChat.generate_chat_results: one user message (temperature 0.001, top_p 0.001),
 * or with an image a system message and the prompt + a JPEG data URL (the MLLM call).
 */
export async function chat(endpoint: LlmEndpoint, prompt: string, signal: AbortSignal, imageBase64?: string): Promise<ChatAnswer> {
  if (endpoint.endPoint === 'completion' && imageBase64 === undefined) {
    const body = { model: endpoint.modelName, prompt, max_tokens: endpoint.maxTokens, temperature: 0.001, stream: false };
    return post({
      endpoint,
      path: '/completions',
      body,
      parse: (json) => {
        const parsed = completionSchema.safeParse(json);
        return parsed.success ? { content: parsed.data.choices[0]!.text ?? null, reasoningContent: null } : undefined;
      },
      signal,
    });
  }
  const messages =
    imageBase64 === undefined
      ? [{ role: 'user', content: prompt }]
      : [
          { role: 'system', content: 'You are a helpful assistant.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: prompt },
              { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${imageBase64}` } },
            ],
          },
        ];
  const body = { model: endpoint.modelName, messages, stream: false, temperature: 0.001, top_p: 0.001 };
  return post({
    endpoint,
    path: '/chat/completions',
    body,
    parse: (json) => {
      const parsed = chatCompletionSchema.safeParse(json);
      if (!parsed.success) return undefined;
      const { message } = parsed.data.choices[0]!;
      // PaddleX reads reasoning_content only from text chats
      return { content: message.content ?? null, reasoningContent: imageBase64 === undefined ? (message.reasoning_content ?? null) : null };
    },
    signal,
  });
}

/** Embeddings of `texts`, in order (batches of 1000 as langchain's OpenAIEmbeddings sends them). */
export async function embed(endpoint: LlmEndpoint, texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += EMBEDDING_BATCH) {
    const batch = texts.slice(start, start + EMBEDDING_BATCH);
    const body = { model: endpoint.modelName, input: batch };
    const result = await post({
      endpoint,
      path: '/embeddings',
      body,
      parse: (json) => {
        const parsed = embeddingsSchema.safeParse(json);
        if (!parsed.success || parsed.data.data.length !== batch.length) return undefined;
        const rows = parsed.data.data.map((row, i) => ({ index: row.index ?? i, embedding: row.embedding }));
        rows.sort((a, b) => a.index - b.index);
        const dims = rows[0]?.embedding.length ?? 0;
        if (!dims || rows.some((r) => r.embedding.length !== dims)) return undefined;
        return rows.map((r) => Float32Array.from(r.embedding));
      },
      signal,
    });
    vectors.push(...result);
  }
  return vectors;
}
