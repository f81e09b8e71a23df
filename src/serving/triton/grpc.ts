/**
 * `inference.GRPCInferenceService` (port 8001) with @grpc/grpc-js, from our own proto with Triton's
 * field numbers. Outputs always travel as `raw_output_contents`, as Triton sends them; inputs may be
 * raw or typed. Message limits are INT32_MAX, as Triton's and tritonclient's.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EXTENSIONS, type InputTensor, MODEL_VERSION, SERVER_NAME, SERVER_VERSION, type TritonCore } from './core.js';
import { TritonError } from './executor.js';
import { frameBytesElement, readBytesElements } from './http.js';
import { PROTO_FILE } from './modelRepository.js';

const INT32_MAX = 2 ** 31 - 1;

const GRPC_STATUS: Record<TritonError['code'], grpc.status> = {
  INTERNAL: grpc.status.INTERNAL,
  NOT_FOUND: grpc.status.NOT_FOUND,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INVALID_ARG: grpc.status.INVALID_ARGUMENT,
  UNSUPPORTED: grpc.status.UNIMPLEMENTED,
};

interface InferInputTensorMsg {
  name: string;
  datatype: string;
  shape: number[];
  contents?: { bytes_contents?: Buffer[] } | null;
}
interface ModelInferRequestMsg {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensorMsg[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

type Handler = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => void;

function unary(fn: (request: any) => unknown | Promise<unknown>): Handler {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          const e = err instanceof TritonError ? err : new TritonError('INTERNAL', (err as Error).message);
          callback({ code: GRPC_STATUS[e.code], details: e.message });
        },
      );
  };
}

/** Typed contents are used where given; otherwise the next raw content, in order (Triton's rule). */
function inputsOf(request: ModelInferRequestMsg): InputTensor[] {
  let raw = 0;
  return request.inputs.map((input) => {
    const typed = input.contents?.bytes_contents;
    let elements: Uint8Array[];
    if (typed?.length) elements = typed;
    else {
      const content = request.raw_input_contents[raw++];
      if (!content) throw new TritonError('INVALID_ARG', `input '${input.name}' has neither contents nor raw_input_contents`);
      elements = input.datatype === 'BYTES' ? readBytesElements(content, `input '${input.name}'`) : [content];
    }
    return { name: input.name, datatype: input.datatype, shape: input.shape.map(Number), elements };
  });
}

export function loadGrpcService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  return pkg.inference.GRPCInferenceService.service as grpc.ServiceDefinition;
}

/** The gRPC server, listening; `port` is the one bound (port 0 picks a free one). */
export async function startTritonGrpc(core: TritonCore, host: string, port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': INT32_MAX, 'grpc.max_send_message_length': INT32_MAX });
  server.addService(loadGrpcService(), {
    ServerLive: unary(() => ({ live: core.live })),
    ServerReady: unary(() => ({ ready: core.ready })),
    // Triton 2.15 answers an unknown model with ready=false rather than an error
    ModelReady: unary((r: { name: string }) => ({ ready: core.executors.has(r.name) && core.modelReady(r.name) })),
    ServerMetadata: unary(() => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS })),
    ModelMetadata: unary((r: { name: string; version: string }) => core.metadata(r.name, r.version)),
    ModelConfig: unary((r: { name: string; version: string }) => ({ config: core.config(r.name, r.version) })),
    ModelStatistics: unary((r: { name: string; version: string }) => ({ model_stats: core.statistics(r.name || undefined, r.version) })),
    ModelInfer: unary(async (r: ModelInferRequestMsg) => {
      const output = await core.infer(
        r.model_name,
        r.model_version,
        inputsOf(r),
        r.outputs.map((o) => o.name),
      );
      return {
        model_name: r.model_name,
        model_version: MODEL_VERSION,
        id: r.id,
        outputs: [{ name: 'output', datatype: 'BYTES', shape: [1, 1] }],
        raw_output_contents: [frameBytesElement(output)],
      };
    }),
  });
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { server, port: boundPort };
}
