/**
 * KServe v2 over HTTP as Triton serves it (port 8000): health, server and model metadata, model
 * config and statistics, and infer with JSON tensors or the binary tensor data extension
 * (tritonclient.http's default). Errors are `{"error": "..."}` with Triton's status codes.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { EXTENSIONS, HTTP_STATUS, type InputTensor, MODEL_VERSION, SERVER_NAME, SERVER_VERSION, type TritonCore } from './core.js';
import { TritonError } from './executor.js';

/** Triton's `--http-max-input-size` default (64 MB); it also caps the decompressed size. */
const MAX_INPUT_BYTES = 64 * 2 ** 20;

interface JsonInput {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown };
}
interface InferRequestJson {
  id?: unknown;
  parameters?: Record<string, unknown>;
  inputs?: JsonInput[];
  outputs?: Array<{ name?: unknown; parameters?: { binary_data?: unknown } }>;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = err instanceof TritonError ? err : new TritonError('INTERNAL', (err as Error).message);
  return reply.code(HTTP_STATUS[e.code]).send({ error: e.message });
}

/** BYTES elements in the binary framing: uint32 little-endian length, then the bytes, repeated. */
export function readBytesElements(raw: Uint8Array, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let offset = 0;
  while (offset < raw.byteLength) {
    if (offset + 4 > raw.byteLength) throw new TritonError('INVALID_ARG', `${what}: truncated BYTES element length`);
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > raw.byteLength)
      throw new TritonError('INVALID_ARG', `${what}: BYTES element of ${length} bytes overruns the data`);
    out.push(raw.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}

export function frameBytesElement(element: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(4 + element.byteLength);
  framed.writeUInt32LE(element.byteLength, 0);
  framed.set(element, 4);
  return framed;
}

function flatten(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
  return out;
}

function decodeBody(body: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || encoding === 'identity') return body;
  const options = { maxOutputLength: MAX_INPUT_BYTES };
  try {
    if (encoding === 'gzip') return gunzipSync(body, options);
    if (encoding === 'deflate') return inflateSync(body, options);
  } catch (err) {
    throw new TritonError('INVALID_ARG', `failed to decompress the request body (${(err as Error).message})`);
  }
  throw new TritonError('UNSUPPORTED', `unsupported Content-Encoding: ${encoding}`);
}

/** The JSON header and the binary tail of an infer request (binary tensor data extension). */
function splitInferBody(body: Buffer, headerLength: string | undefined): { json: InferRequestJson; binary: Buffer } {
  let jsonBytes: Buffer = body;
  let binary: Buffer = Buffer.alloc(0);
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!Number.isInteger(n) || n < 0 || n > body.length) {
      throw new TritonError('INVALID_ARG', `Inference-Header-Content-Length ${headerLength} is not within 0..${body.length}`);
    }
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  try {
    const json = JSON.parse(jsonBytes.toString('utf8')) as unknown;
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('not an object');
    return { json: json as InferRequestJson, binary };
  } catch (err) {
    throw new TritonError('INVALID_ARG', `failed to parse the request JSON: ${(err as Error).message}`);
  }
}

function readInputs(json: InferRequestJson, binary: Buffer): InputTensor[] {
  if (!Array.isArray(json.inputs)) throw new TritonError('INVALID_ARG', 'missing field inputs');
  let offset = 0;
  return json.inputs.map((input) => {
    const name = String(input.name ?? '');
    const shape = Array.isArray(input.shape) ? input.shape.map(Number) : [];
    const datatype = String(input.datatype ?? '');
    const binarySize = input.parameters?.binary_data_size;
    let elements: Uint8Array[];
    if (binarySize !== undefined) {
      const size = Number(binarySize);
      if (!Number.isInteger(size) || size < 0 || offset + size > binary.length) {
        throw new TritonError('INVALID_ARG', `input '${name}': binary_data_size ${binarySize} overruns the binary data`);
      }
      const raw = binary.subarray(offset, offset + size);
      offset += size;
      elements = datatype === 'BYTES' ? readBytesElements(raw, `input '${name}'`) : [raw];
    } else {
      // JSON BYTES elements are strings; other types are refused later by the datatype check
      elements = flatten(input.data).map((v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8'));
    }
    return { name, shape, datatype, elements };
  });
}

export async function createTritonHttpApp(core: TritonCore): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: MAX_INPUT_BYTES, forceCloseConnections: 'idle' });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'Not Found' }));
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(400).send({ error: `request body exceeds ${MAX_INPUT_BYTES} bytes` });
    return sendError(reply, err);
  });

  const health = (ok: () => boolean) => async (_req: unknown, reply: FastifyReply) => {
    if (core.exiting) return reply.code(503).send({ error: 'Server exiting' });
    return reply
      .code(ok() ? 200 : 400)
      .header('content-length', 0)
      .send();
  };
  app.get(
    '/v2/health/live',
    health(() => core.live),
  );
  app.get(
    '/v2/health/ready',
    health(() => core.ready),
  );
  app.get('/v2', async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }));
  app.get('/v2/models/stats', async () => ({ model_stats: core.statistics() }));

  type ModelParams = { model: string; version?: string };
  const routes = (suffix: string) => [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];
  const handle = (fn: (p: ModelParams, reply: FastifyReply) => unknown) => async (req: { params: unknown }, reply: FastifyReply) => {
    try {
      return await fn(req.params as ModelParams, reply);
    } catch (err) {
      return sendError(reply, err);
    }
  };
  for (const url of routes(''))
    app.get(
      url,
      handle((p) => core.metadata(p.model, p.version)),
    );
  for (const url of routes('/ready')) {
    app.get(
      url,
      handle((p, reply) => {
        core.executor(p.model, p.version);
        return core.modelReady(p.model)
          ? reply.code(200).header('content-length', 0).send()
          : reply.code(400).send({ error: 'Model version not ready' });
      }),
    );
  }
  for (const url of routes('/config'))
    app.get(
      url,
      handle((p) => core.config(p.model, p.version)),
    );
  for (const url of routes('/stats'))
    app.get(
      url,
      handle((p) => ({ model_stats: core.statistics(p.model, p.version) })),
    );
  for (const url of routes('/infer')) {
    app.post(url, async (req, reply) => {
      try {
        const { model, version = '' } = req.params as ModelParams;
        const body = decodeBody(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), req.headers['content-encoding']);
        const headerLength = req.headers['inference-header-content-length'];
        const { json, binary } = splitInferBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
        const outputs = Array.isArray(json.outputs) ? json.outputs : [];
        const output = await core.infer(
          model,
          version,
          readInputs(json, binary),
          outputs.map((o) => String(o.name)),
        );
        const binaryOut =
          outputs.find((o) => o.name === 'output')?.parameters?.binary_data ?? (json.parameters?.binary_data_output === true || undefined);
        const header: Record<string, unknown> = { model_name: model, model_version: MODEL_VERSION };
        if (json.id !== undefined) header.id = json.id;
        if (binaryOut === true) {
          const framed = frameBytesElement(output);
          header.outputs = [{ name: 'output', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: framed.length } }];
          const jsonHeader = Buffer.from(JSON.stringify(header));
          return reply
            .header('content-type', 'application/octet-stream')
            .header('inference-header-content-length', jsonHeader.length)
            .send(Buffer.concat([jsonHeader, framed]));
        }
        header.outputs = [{ name: 'output', datatype: 'BYTES', shape: [1, 1], data: [Buffer.from(output).toString('utf8')] }];
        return reply.header('content-type', 'application/json').send(JSON.stringify(header));
      } catch (err) {
        return sendError(reply, err);
      }
    });
  }
  return app;
}
