/**
 * A local OpenAI-compatible server for the LLM pipelines' tests, on loopback: chat completions,
 * completions and embeddings. It records every request (path, JSON body, Authorization header), answers
 * with the test's functions, and can be scripted to fail: a queue of replies (status, body, delay)
 * is served first, per path.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  path: string;
  body: any;
  authorization: string | undefined;
}

export interface ScriptedReply {
  status?: number;
  /** sent as is (a string) or as JSON */
  body?: unknown;
  headers?: Record<string, string>;
  /** wait this long before answering */
  delayMs?: number;
}

export interface LlmStub {
  /** e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  /** the user prompts of the chat requests so far, in order */
  prompts(): string[];
  /** the answer text of a chat request (default: "{}") */
  answer: (prompt: string, body: any) => string;
  /** the embedding of a text (default: see `keywordEmbedding`) */
  embedding: (text: string) => number[];
  /** replies served before the normal ones, first in first out, for requests to `path` (e.g. "/v1/chat/completions") */
  script(path: string, ...replies: ScriptedReply[]): void;
  reset(): void;
  close(): Promise<void>;
}

/** One dimension per keyword: how often it occurs in the text (a stand-in for semantic embeddings that tests can reason about). */
export function keywordEmbedding(keywords: readonly string[]): (text: string) => number[] {
  return (text) => {
    const counts = keywords.map((k) => text.split(k).length - 1);
    const norm = Math.hypot(...counts) || 1;
    return counts.map((c) => c / norm);
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `unref`: the stub does not keep the process alive (for stubs nobody closes, such as the conformance suite's). */
export async function startLlmStub(options: { unref?: boolean } = {}): Promise<LlmStub> {
  const scripts = new Map<string, ScriptedReply[]>();
  const stub: Omit<LlmStub, 'baseUrl' | 'close'> = {
    requests: [],
    prompts() {
      return this.requests
        .filter((r) => r.path.endsWith('/chat/completions'))
        .map((r) => {
          const content = r.body.messages.at(-1).content;
          return typeof content === 'string' ? content : content.find((part: any) => part.type === 'text').text;
        });
    },
    answer: () => '{}',
    embedding: keywordEmbedding(['a', 'b']),
    script(path, ...replies) {
      scripts.set(path, [...(scripts.get(path) ?? []), ...replies]);
    },
    reset() {
      this.requests.length = 0;
      scripts.clear();
      this.answer = () => '{}';
    },
  };
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    const path = req.url ?? '';
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    stub.requests.push({ path, body, authorization: req.headers.authorization });
    const scripted = scripts.get(path)?.shift();
    if (scripted) {
      if (scripted.delayMs) await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
      if (res.destroyed) return;
      res.writeHead(scripted.status ?? 200, { 'content-type': 'application/json', ...scripted.headers });
      res.end(typeof scripted.body === 'string' ? scripted.body : JSON.stringify(scripted.body ?? {}));
      return;
    }
    const reply = (json: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    if (path.endsWith('/chat/completions')) {
      const content = body.messages.at(-1).content;
      const prompt = typeof content === 'string' ? content : content.find((part: any) => part.type === 'text').text;
      reply({
        id: 'stub',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: stub.answer(prompt, body) } }],
      });
    } else if (path.endsWith('/completions')) {
      reply({ id: 'stub', object: 'text_completion', choices: [{ index: 0, text: stub.answer(body.prompt, body) }] });
    } else if (path.endsWith('/embeddings')) {
      reply({
        object: 'list',
        data: body.input.map((input: string, index: number) => ({ object: 'embedding', index, embedding: stub.embedding(input) })),
      });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (options.unref) server.unref();
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
