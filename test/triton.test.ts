/**
 * High-stability serving: the generated HPS SDK started through its server.sh on free ports, then
 * driven over KServe v2 HTTP (JSON and binary tensors) and over gRPC by an independent client
 * (Debian's python3-grpcio with stubs generated from our proto), with requests built exactly as
 * PaddleX's client builds them. Also the config.pbtxt reader, checked against protoc.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { closeClients, tritonRequest } from '@pipeserve/hps-client';
import { parseTextFormat } from '../src/serving/triton/pbtxt.js';
import { PROTO_FILE, readModelConfig, tritonProto } from '../src/serving/triton/modelRepository.js';
import { defaultModelConfig, writeHpsSdk } from '../src/serving/triton/sdk.js';
import { runSdkClient, type SdkServer, startSdkServer } from './helpers/hps.js';
import { REPO_ROOT } from './helpers/paths.js';

const SIGN = path.join(REPO_ROOT, '..', 'shared', 'golden', 'ocr', 'images', 'street_sign.png');
const DEBIAN_PYTHON = '/usr/bin/python3';

const modelConfigType = () => tritonProto().lookupType('inference.ModelConfig');

describe('config.pbtxt reader', () => {
  const example = `
name: "ocr"
backend: "python"
max_batch_size: 8
input  [ { name: "input" data_type: TYPE_STRING dims: [ 1 ] } ]
output [ { name: "output", data_type: TYPE_STRING, dims: [ 1 ] } ]
instance_group [ { count: 2 kind: KIND_CPU } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
  default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 5000000 max_queue_size: 64 }
}
parameters: { key: "k" value: { string_value: "v" } }  # a comment
`;

  test('reads what protoc reads (protoc --encode as the oracle)', async () => {
    const ours = parseTextFormat(example, modelConfigType(), 'config.pbtxt');
    const encoded = execFileSync('protoc', [`-I${path.dirname(PROTO_FILE)}`, '--encode=inference.ModelConfig', path.basename(PROTO_FILE)], {
      input: example,
    });
    // both through the same binary round trip (proto3 drops fields at their default values)
    const type = modelConfigType();
    const normal = (bytes: Uint8Array) =>
      JSON.parse(JSON.stringify(type.toObject(type.decode(bytes), { enums: String, longs: Number, defaults: true })));
    assert.deepEqual(normal(type.encode(type.fromObject(ours)).finish()), normal(encoded));
    assert.equal((ours.dynamic_batching as any).default_queue_policy.max_queue_size, 64);
  });

  test('PaddleX’s own config_cpu/config_gpu text parses and passes the checks', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pbtxt-'));
    for (const kind of ['KIND_CPU', 'KIND_GPU'] as const) {
      const file = path.join(dir, `${kind}.pbtxt`);
      await writeFile(file, defaultModelConfig(kind));
      const config = readModelConfig(file, 'ocr');
      assert.equal(config.instance_group?.[0]?.kind, kind);
      assert.equal(config.max_batch_size, 1);
    }
  });

  test('errors name the file, line, column and field', async () => {
    const cases: Array<[string, RegExp]> = [
      ['max_batch_size: "eight"', /c\.pbtxt:1:17: max_batch_size: expected an integer/],
      ['instance_group [ { count: 1 kind: KIND_TPU } ]', /instance_group\.kind: "KIND_TPU" is not one of/],
      ['max_batch_sise: 1', /max_batch_sise: no such field in ModelConfig/],
      ['input [ { name: "input" data_type: TYPE_STRING dims: [ 1 ] }', /c\.pbtxt:1:\d+: input: expected "\{"/],
      ['name: "unterminated', /c\.pbtxt:1:\d+: unterminated string/],
    ];
    for (const [text, pattern] of cases) assert.throws(() => parseTextFormat(text, modelConfigType(), 'c.pbtxt'), pattern, text);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pbtxt-'));
    const file = path.join(dir, 'config.pbtxt');
    await writeFile(file, defaultModelConfig('KIND_CPU').replace('name: "input"', 'name: "image"'));
    assert.throws(() => readModelConfig(file, 'ocr'), /config\.pbtxt: input: exactly one input named "input"/);
    await writeFile(file, `${defaultModelConfig('KIND_CPU')}dynamic_batching { preferred_batch_size: [ 4 ] }\n`);
    assert.throws(() => readModelConfig(file, 'ocr'), /preferred_batch_size: 4 is not within 1\.\.max_batch_size \(1\)/);
    await writeFile(file, `${defaultModelConfig('KIND_CPU')}parameters: { key: "intra_op_thread_count" value: { string_value: "0" } }\n`);
    assert.throws(
      () => readModelConfig(file, 'ocr'),
      /config\.pbtxt: parameters\["intra_op_thread_count"\]\.string_value: must be a whole number >= 1 \(got "0"\)/,
    );
  });
});

describe('the OCR HPS SDK started with server.sh', () => {
  let sdk: string;
  let server: SdkServer;
  let ports: SdkServer['ports'];
  let http: string;
  let request: Record<string, unknown>;
  let stubsDir: string;

  before(async () => {
    sdk = await writeHpsSdk('OCR', await mkdtemp(path.join(os.tmpdir(), 'hps-sdk-')));
    server = await startSdkServer(sdk);
    ({ ports, http } = server);
    assert.match(server.log(), /Started GRPCInferenceService at 127\.0\.0\.1:\d+/);
    request = { file: (await readFile(SIGN)).toString('base64'), fileType: 1, visualize: false };
    stubsDir = await mkdtemp(path.join(os.tmpdir(), 'hps-stubs-'));
    execFileSync(DEBIAN_PYTHON, [
      '-m',
      'grpc_tools.protoc',
      `-I${path.dirname(PROTO_FILE)}`,
      `--python_out=${stubsDir}`,
      `--grpc_python_out=${stubsDir}`,
      path.basename(PROTO_FILE),
    ]);
  });

  after(async () => {
    closeClients();
    await server?.stop();
  });

  test('the SDK has PaddleX’s layout', async () => {
    assert.equal((await readFile(path.join(sdk, 'version.txt'), 'utf8')).trim(), '0.1.0');
    for (const file of [
      'server/pipeline_config.yaml',
      'server/server.sh',
      'server/model_repo/ocr/config_cpu.pbtxt',
      'server/model_repo/ocr/config_gpu.pbtxt',
      'client/client.mjs',
      'client/README.md',
    ]) {
      await readFile(path.join(sdk, file));
    }
  });

  test('HTTP: health, server and model metadata, config and statistics as Triton answers them', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2/models/ocr/ready', '/v2/models/ocr/versions/1/ready']) {
      const res = await fetch(`${http}${p}`);
      assert.equal(res.status, 200, p);
      assert.equal(await res.text(), '', `${p}: empty body`);
    }
    const meta = await (await fetch(`${http}/v2`)).json();
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    assert.deepEqual(await (await fetch(`${http}/v2/models/ocr`)).json(), {
      name: 'ocr',
      versions: ['1'],
      platform: 'python',
      inputs: [{ name: 'input', datatype: 'BYTES', shape: [-1, 1] }],
      outputs: [{ name: 'output', datatype: 'BYTES', shape: [-1, 1] }],
    });
    const config = await (await fetch(`${http}/v2/models/ocr/config`)).json();
    assert.equal(config.max_batch_size, 1);
    assert.equal(config.input[0].data_type, 'TYPE_STRING');
    const unknown = await fetch(`${http}/v2/models/nope`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: "Request for unknown model: 'nope' is not found" });
  });

  test('HTTP infer with JSON tensors, as PaddleX’s serving guide shows it', async () => {
    const res = await fetch(`${http}/v2/models/ocr/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 1], datatype: 'BYTES', data: [JSON.stringify(request)] }],
        outputs: [{ name: 'output' }],
      }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.model_name, 'ocr');
    assert.equal(body.model_version, '1');
    const envelope = JSON.parse(body.outputs[0].data[0]);
    assert.equal(envelope.errorCode, 0);
    assert.ok(envelope.result.ocrResults[0].prunedResult.rec_texts.some((t: string) => /Tourism/.test(t)));
  });

  test('HTTP infer with the binary tensor extension (tritonclient.http’s default)', async () => {
    const element = Buffer.from(JSON.stringify(request));
    const raw = Buffer.concat([Buffer.from(Uint32Array.of(element.length).buffer), element]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: raw.length } }],
        parameters: { binary_data_output: true },
      }),
    );
    const res = await fetch(`${http}/v2/models/ocr/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, raw]),
    });
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(bytes.subarray(0, jsonLength).toString());
    assert.equal(head.outputs[0].parameters.binary_data_size, bytes.length - jsonLength);
    const out = bytes.subarray(jsonLength);
    const envelope = JSON.parse(out.subarray(4, 4 + out.readUInt32LE(0)).toString());
    assert.equal(envelope.errorCode, 0);
  });

  test('errors: app errors inside the JSON, protocol faults as Triton’s codes', async () => {
    const infer = (inputs: unknown) => fetch(`${http}/v2/models/ocr/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
    // a request PaddleX's schema refuses: 422 inside a successful Triton response, pydantic's plain text
    const missing = await infer([{ name: 'input', shape: [1, 1], datatype: 'BYTES', data: ['{"fileType":1}'] }]);
    assert.equal(missing.status, 200);
    const envelope = JSON.parse((await missing.json()).outputs[0].data[0]);
    assert.equal(envelope.errorCode, 422);
    assert.match(envelope.errorMsg, /^1 validation error for InferRequest\nfile\n {2}Field required \[type=missing/);
    assert.equal('result' in envelope, false);
    const notJson = JSON.parse(
      (await (await infer([{ name: 'input', shape: [1, 1], datatype: 'BYTES', data: ['{oops'] }])).json()).outputs[0].data[0],
    );
    assert.equal(notJson.errorCode, 422);
    assert.match(notJson.errorMsg, /Invalid JSON/);
    const wrongName = await infer([{ name: 'image', shape: [1, 1], datatype: 'BYTES', data: ['{}'] }]);
    assert.equal(wrongName.status, 400);
    assert.match((await wrongName.json()).error, /unexpected inference input 'image'/);
    const wrongType = await infer([{ name: 'input', shape: [1, 1], datatype: 'FP32', data: [1] }]);
    assert.equal(wrongType.status, 400);
    const wrongShape = await infer([{ name: 'input', shape: [1, 2], datatype: 'BYTES', data: ['{}', '{}'] }]);
    assert.equal(wrongShape.status, 400);
  });

  test('gRPC with an independent client (python3-grpcio), requests built as PaddleX’s client builds them', async () => {
    const script = `
import json, sys, struct
sys.path.insert(0, ${JSON.stringify(stubsDir)})
import grpc, grpc_service_pb2 as pb, grpc_service_pb2_grpc as rpc
channel = grpc.insecure_channel("127.0.0.1:${ports.grpc}", options=[("grpc.max_send_message_length", 2**31 - 1), ("grpc.max_receive_message_length", 2**31 - 1)])
stub = rpc.GRPCInferenceServiceStub(channel)
out = {}
out["live"] = stub.ServerLive(pb.ServerLiveRequest()).live
out["ready"] = stub.ServerReady(pb.ServerReadyRequest()).ready
out["model_ready"] = stub.ModelReady(pb.ModelReadyRequest(name="ocr")).ready
out["unknown_ready"] = stub.ModelReady(pb.ModelReadyRequest(name="nope")).ready
meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="ocr"))
out["meta"] = [meta.name, list(meta.versions), meta.platform, meta.inputs[0].name, meta.inputs[0].datatype, list(meta.inputs[0].shape)]
out["server"] = stub.ServerMetadata(pb.ServerMetadataRequest()).name
out["config_batch"] = stub.ModelConfig(pb.ModelConfigRequest(name="ocr")).config.max_batch_size
def infer(payload, model="ocr", timeout=None):
    data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    req = pb.ModelInferRequest(model_name=model, model_version="")
    if timeout is not None:
        req.parameters["timeout"].int64_param = timeout
    t = req.inputs.add(); t.name = "input"; t.datatype = "BYTES"; t.shape.extend([1, 1])
    req.raw_input_contents.append(struct.pack("<I", len(data)) + data)
    res = stub.ModelInfer(req, timeout=600)
    raw = res.raw_output_contents[0]
    return json.loads(raw[4:4 + struct.unpack("<I", raw[:4])[0]])
payload = json.load(open(sys.argv[1]))
env = infer(payload, timeout=600)
out["infer"] = [env["errorCode"], len(env["result"]["ocrResults"][0]["prunedResult"]["rec_texts"])]
big = dict(payload); big["file"] = payload["file"] + "A" * (5 * 1024 * 1024)
out["big"] = infer(big)["errorCode"]
try:
    infer(payload, model="nope"); out["unknown"] = "ok"
except grpc.RpcError as e:
    out["unknown"] = e.code().name
try:
    infer(b"\\xff\\xfe"); out["not_utf8"] = "ok"
except grpc.RpcError as e:
    out["not_utf8"] = [e.code().name, e.details()]
stats = stub.ModelStatistics(pb.ModelStatisticsRequest(name="ocr")).model_stats[0]
out["stats"] = [stats.name, stats.inference_count > 0, stats.inference_stats.success.count > 0]
print(json.dumps(out))
`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hps-py-'));
    await writeFile(path.join(dir, 'client.py'), script);
    await writeFile(path.join(dir, 'payload.json'), JSON.stringify(request));
    const out = JSON.parse(
      execFileSync(DEBIAN_PYTHON, [path.join(dir, 'client.py'), path.join(dir, 'payload.json')], { timeout: 300_000 }).toString(),
    );
    assert.equal(out.live, true);
    assert.equal(out.ready, true);
    assert.equal(out.model_ready, true);
    assert.equal(out.unknown_ready, false);
    assert.deepEqual(out.meta, ['ocr', ['1'], 'python', 'input', 'BYTES', [-1, 1]]);
    assert.equal(out.config_batch, 1);
    assert.deepEqual(out.infer[0], 0, 'the timeout parameter PaddleX’s client sends does not fail the request');
    assert.ok(out.infer[1] > 0);
    assert.equal(out.big, 422, 'a 5 MB request passes gRPC’s message limits and reaches the app (which rejects the bad Base64)');
    assert.equal(out.unknown, 'NOT_FOUND');
    assert.deepEqual(out.not_utf8, ['INTERNAL', 'An error occurred during execution']);
    assert.deepEqual(out.stats, ['ocr', true, true]);
  });

  test('the TypeScript client over gRPC and HTTP, and the SDK’s client.mjs CLI', async () => {
    const grpcEnvelope = await tritonRequest(`127.0.0.1:${ports.grpc}`, 'ocr', request, { timeout: 600 });
    assert.equal(grpcEnvelope.errorCode, 0);
    const httpEnvelope = await tritonRequest(http, 'ocr', request, { protocol: 'http', timeout: 600 });
    assert.deepEqual(
      (httpEnvelope.result as any).ocrResults[0].prunedResult.rec_texts,
      (grpcEnvelope.result as any).ocrResults[0].prunedResult.rec_texts,
    );
    const ok = await runSdkClient(sdk, ['--file', SIGN, '--file-type', '1', '--url', `127.0.0.1:${ports.grpc}`]);
    assert.equal(ok.code, 0, ok.stderr);
    const failed = await runSdkClient(sdk, ['--file', SIGN, '--url', `127.0.0.1:${ports.grpc}`]);
    assert.equal(failed.code, 1, 'Base64 without fileType: errorCode 422 → exit 1');
    assert.match(failed.stderr, /Error code: 422/);
  });

  test('metrics: Triton’s nv_inference_* series with model/version labels', async () => {
    const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    assert.match(text, /^nv_inference_request_success\{model="ocr",version="1"\} [1-9]/m);
    assert.match(text, /^nv_inference_request_failure\{model="ocr",version="1",reason="REJECTED"\} 0/m);
    assert.match(text, /^nv_inference_exec_count\{model="ocr",version="1"\} [1-9]/m);
    assert.match(text, /^nv_inference_pending_request_count\{model="ocr",version="1"\} 0/m);
    assert.match(text, /^process_resident_memory_bytes /m);
  });
});

test('protobufjs reads the proto with proto field names', () => {
  assert.ok(new protobuf.Root().loadSync(PROTO_FILE, { keepCase: true }).lookupType('inference.ModelConfig').fields.max_batch_size);
});
