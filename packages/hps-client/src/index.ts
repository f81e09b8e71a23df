/**
 * A client for pipeserve's high-stability mode (and for PaddleX HPS servers on Triton): the same
 * calls as PaddleX's `paddlex_hps_client` — `tritonRequest(url, model, payload, {timeout})` over gRPC,
 * or over KServe v2 HTTP with `{protocol: 'http'}` — plus its file helpers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** Triton's `inference.GRPCInferenceService` (pipeserve's copy, placed beside this file by the build) */
const PROTO_FILE = fileURLToPath(new URL('./grpc_service.proto', import.meta.url));
const INT32_MAX = 2 ** 31 - 1;

/** The envelope every HPS model answers with. */
export interface HpsEnvelope<Result = Record<string, unknown>> {
  logId: string;
  errorCode: number;
  errorMsg: string;
  result?: Result;
}

export interface TritonRequestOptions {
  /** seconds; the call's deadline (PaddleX's client also sends it as Triton's `timeout` parameter) */
  timeout?: number;
  protocol?: 'grpc' | 'http';
}

/**
 * A Triton-level failure (app errors come back inside the envelope instead): the gRPC status code
 * (e.g. 13 INTERNAL, 14 UNAVAILABLE) or the HTTP status, and Triton's error message.
 */
export class TritonRequestError extends Error {
  constructor(
    readonly protocol: 'grpc' | 'http',
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TritonRequestError';
  }
}

type GrpcClient = grpc.Client &
  Record<string, (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;
const grpcClients = new Map<string, GrpcClient>();

function grpcClient(url: string): GrpcClient {
  let client = grpcClients.get(url);
  if (!client) {
    const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const Service = (grpc.loadPackageDefinition(definition) as any).inference.GRPCInferenceService;
    client = new Service(url, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': INT32_MAX,
      'grpc.max_send_message_length': INT32_MAX,
    }) as GrpcClient;
    grpcClients.set(url, client);
  }
  return client;
}

/** One BYTES element, framed as Triton's raw contents: uint32 LE length + bytes. */
function frame(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32LE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** Sends `payload` (the basic-serving request body) to `model` and returns its envelope. */
export async function tritonRequest<Result = Record<string, unknown>>(
  url: string,
  model: string,
  payload: unknown,
  options: TritonRequestOptions = {},
): Promise<HpsEnvelope<Result>> {
  const input = Buffer.from(JSON.stringify(payload), 'utf8');
  if (options.protocol === 'http') {
    const res = await fetch(`${url.startsWith('http') ? url : `http://${url}`}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 1], datatype: 'BYTES', data: [input.toString('utf8')] }],
        outputs: [{ name: 'output' }],
      }),
      signal: options.timeout ? AbortSignal.timeout(options.timeout * 1000) : undefined,
    });
    const body = (await res.json()) as { error?: string; outputs?: Array<{ data: string[] }> };
    if (!res.ok) throw new TritonRequestError('http', res.status, body.error ?? `HTTP ${res.status}`);
    return JSON.parse(body.outputs![0]!.data[0]!) as HpsEnvelope<Result>;
  }
  const request = {
    model_name: model,
    model_version: '',
    // PaddleX's client also passes its timeout as this parameter; the server must not read it as µs
    parameters: options.timeout ? { timeout: { int64_param: options.timeout } } : {},
    inputs: [{ name: 'input', datatype: 'BYTES', shape: [1, 1] }],
    outputs: [],
    raw_input_contents: [frame(input)],
  };
  const callOptions: grpc.CallOptions = options.timeout ? { deadline: Date.now() + options.timeout * 1000 } : {};
  const response = await grpcCall<{ raw_output_contents: Buffer[] }>(url, 'ModelInfer', request, callOptions);
  const raw = response.raw_output_contents[0]!;
  return JSON.parse(raw.subarray(4, 4 + raw.readUInt32LE(0)).toString('utf8')) as HpsEnvelope<Result>;
}

function grpcCall<T>(url: string, method: string, request: unknown, options: grpc.CallOptions): Promise<T> {
  return new Promise((resolve, reject) =>
    grpcClient(url)[method]!(request, options, (err, res) =>
      err ? reject(new TritonRequestError('grpc', err.code, err.details)) : resolve(res as T),
    ),
  );
}

/** Triton's model readiness (`GET /v2/models/<model>/ready` over HTTP, ModelReady over gRPC). */
export async function modelReady(
  url: string,
  model: string,
  options: Pick<TritonRequestOptions, 'protocol' | 'timeout'> = {},
): Promise<boolean> {
  const timeoutMs = (options.timeout ?? 10) * 1000;
  if (options.protocol === 'http') {
    const res = await fetch(`${url.startsWith('http') ? url : `http://${url}`}/v2/models/${model}/ready`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.ok;
  }
  const reply = await grpcCall<{ ready: boolean }>(url, 'ModelReady', { name: model, version: '' }, { deadline: Date.now() + timeoutMs });
  return reply.ready;
}

/** PaddleX's prepare_input_file: URLs pass through, files become Base64. */
export async function prepareInputFile(pathOrUrl: string): Promise<string> {
  return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : (await readFile(pathOrUrl)).toString('base64');
}

/** PaddleX's save_output_file: a Base64 image (or a URL, fetched) written to `file`. */
export async function saveOutputFile(b64OrUrl: string, file: string): Promise<void> {
  const bytes = /^https?:\/\//.test(b64OrUrl) ? Buffer.from(await (await fetch(b64OrUrl)).arrayBuffer()) : Buffer.from(b64OrUrl, 'base64');
  await writeFile(file, bytes);
}

export function closeClients(): void {
  for (const client of grpcClients.values()) client.close();
  grpcClients.clear();
}
