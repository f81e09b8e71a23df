/**
 * The conformance suite: every registered pipeline, whatever it is, must publish request and result
 * schemas, answer with responses that match them, ignore unknown fields, accept null exactly where
 * PaddleX does, answer bad requests with PaddleX's 422 envelope, honour `visualize`, and work
 * through `--input` local prediction.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import { PIPELINES } from '../src/pipelines/registry.js';
import { imageFields } from '../src/pipelines/shared/schemas.js';
import { CONFORMANCE, type ConformanceCase } from './conformance/pipelines.js';
import { runCli } from './helpers/cli.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; nullable?: boolean; [k: string]: unknown };

/** Image fields a result always has (e.g. doc_preprocessor's `outputImage`), whatever `visualize` says. */
function requiredImageFields(schema: unknown, found = new Set<string>()): Set<string> {
  if (!schema || typeof schema !== 'object') return found;
  const node = schema as JsonSchema;
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (node.required?.includes(name) && String(child['x-content-media-type'] ?? '').startsWith('image/')) found.add(name);
  }
  for (const child of Object.values(node)) if (child && typeof child === 'object') requiredImageFields(child, found);
  return found;
}

test('every registered pipeline has a conformance case', () => {
  const covered = new Set(CONFORMANCE.map((c) => c.pipeline));
  assert.deepEqual(
    PIPELINES.map((p) => p.pipelineName).filter((name) => !covered.has(name)),
    [],
    'add a line to test/conformance/pipelines.ts',
  );
});

/** The endpoint paths of a pipeline. */
const pathsOf = (pipeline: string) => PIPELINES.find((p) => p.pipelineName === pipeline)!.endpoints.map((e) => e.path);

/**
 * The cases in groups served together on one port: a pipeline whose endpoints another one also
 * serves (PP-ChatOCRv3-doc and v4-doc share /chatocr-*, as in PaddleX, one pipeline per server)
 * goes to a group of its own.
 */
function servingGroups(): ConformanceCase[][] {
  const groups: ConformanceCase[][] = [];
  for (const c of CONFORMANCE) {
    const paths = pathsOf(c.pipeline);
    const group = groups.find((g) => g.every((other) => !pathsOf(other.pipeline).some((p) => paths.includes(p))));
    if (group) group.push(c);
    else groups.push([c]);
  }
  return groups;
}

describe('conformance of every pipeline, served together on one port (pipelines sharing endpoints on another)', () => {
  interface Served {
    server: RunningServer;
    openapi: { paths: Record<string, any> };
  }
  const servers = new Map<string, Served>();
  const requests = new Map<string, Record<string, unknown>>();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  before(async () => {
    for (const group of servingGroups()) {
      const yamls = await Promise.all(group.map((c) => c.yaml()));
      const server = await startServer({ pipelines: yamls, workers: 1 });
      const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as Served['openapi'];
      for (const c of group) {
        servers.set(c.pipeline, { server, openapi });
        for (const [p, body] of Object.entries(await c.requests(server.url))) requests.set(`${c.pipeline} ${p}`, body);
      }
    }
  });
  after(async () => {
    for (const { server } of new Set(servers.values())) await server.close();
  });

  const endpoints = () =>
    PIPELINES.flatMap((p) =>
      p.endpoints.map((endpoint) => {
        const { server, openapi } = servers.get(p.pipelineName)!;
        return {
          pipeline: p.pipelineName,
          endpoint,
          url: `${server.url}${endpoint.path}`,
          openapi,
          sample: requests.get(`${p.pipelineName} ${endpoint.path}`)!,
        };
      }),
    );
  type Entry = ReturnType<typeof endpoints>[number];
  const requestSchema = (e: Entry): JsonSchema => e.openapi.paths[e.endpoint.path].post.requestBody.content['application/json'].schema;
  const resultSchema = (e: Entry): JsonSchema =>
    e.openapi.paths[e.endpoint.path].post.responses['200'].content['application/json'].schema.properties.result;

  test('/openapi.json is a valid OpenAPI document (checked by an OpenAPI validator)', async () => {
    for (const { openapi } of new Set(servers.values())) {
      const result = await new Validator().validate(openapi as Parameters<Validator['validate']>[0]);
      assert.ok(result.valid, JSON.stringify(result.errors ?? null).slice(0, 2000));
    }
  });

  test('every POST endpoint publishes its request schema and its full result schema', () => {
    for (const e of endpoints()) {
      const { endpoint } = e;
      const req = requestSchema(e);
      assert.equal(req.type, 'object', endpoint.path);
      assert.ok(req.required?.includes(endpoint.input.field), `${endpoint.path}: ${endpoint.input.field} is required`);
      const result = resultSchema(e);
      assert.equal(result.type, 'object', endpoint.path);
      assert.ok(Object.keys(result.properties ?? {}).length > 0, `${endpoint.path}: the result schema lists its fields`);
    }
    // the full structure, down to the fields inside prunedResult
    const ocr = resultSchema(endpoints().find((e) => e.endpoint.path === '/ocr')!) as any;
    assert.equal(ocr.properties.ocrResults.items.properties.prunedResult.properties.rec_texts.items.type, 'string');
  });

  test('real responses validate against the published result schema, with and without visualization', async () => {
    for (const e of endpoints()) {
      const { endpoint } = e;
      const validate = ajv.compile(resultSchema(e));
      const { images, imageMaps } = imageFields(endpoint.result);
      const always = requiredImageFields(resultSchema(e));
      for (const visualize of [true, false]) {
        const res = await postJson(e.url, { ...e.sample, visualize });
        assert.equal(res.status, 200, `${endpoint.path}: ${JSON.stringify(res.body).slice(0, 300)}`);
        assert.deepEqual(Object.keys(res.body), ['logId', 'result', 'errorCode', 'errorMsg']);
        assert.ok(validate(res.body.result), `${endpoint.path} visualize=${visualize}: ${ajv.errorsText(validate.errors)}`);
        const text = JSON.stringify(res.body.result);
        for (const key of always) assert.ok(text.includes(`"${key}":`), `${endpoint.path}: ${key} is always returned`);
        const imageKeys = [...images, ...imageMaps].filter((key) => !always.has(key));
        const hasImage = imageKeys.some((key) => text.includes(`"${key}":`));
        if (imageKeys.length) assert.equal(hasImage, visualize, `${endpoint.path}: images exactly when visualize=${visualize}`);
      }
    }
  });

  test('unknown request fields are ignored', async () => {
    for (const e of endpoints()) {
      const { endpoint } = e;
      const res = await postJson(e.url, {
        ...e.sample,
        visualize: false,
        notAPaddleXField: [1],
      });
      assert.equal(res.status, 200, endpoint.path);
    }
  });

  test('optional fields accept omission and null where PaddleX accepts null; elsewhere null is a 422', async () => {
    for (const e of endpoints()) {
      const { endpoint } = e;
      const schema = requestSchema(e);
      const optionalFields = Object.entries(schema.properties ?? {}).filter(([name]) => !schema.required?.includes(name));
      // fields the sample request sets keep their values (fileType: null with Base64 input is rightly a 422)
      const sample = e.sample;
      const nullable = optionalFields.filter(([name, s]) => s.nullable && !(name in sample)).map(([name]) => name);
      const body = { ...e.sample, ...Object.fromEntries(nullable.map((name) => [name, null])), visualize: false };
      const res = await postJson(e.url, body);
      assert.equal(res.status, 200, `${endpoint.path} with ${nullable.join(', ')} null: ${JSON.stringify(res.body).slice(0, 300)}`);
      for (const [name] of optionalFields.filter(([, s]) => !s.nullable)) {
        const refused = await postJson(e.url, { ...e.sample, [name]: null });
        assertErrorEnvelope(refused, 422);
      }
    }
  });

  test('a request without its input field is PaddleX’s 422: a JSON list of pydantic-style errors', async () => {
    for (const e of endpoints()) {
      const { endpoint } = e;
      const { [endpoint.input.field]: _input, ...otherFields } = e.sample;
      const res = await postJson(e.url, { ...otherFields, visualize: false });
      const errors = JSON.parse(assertErrorEnvelope(res, 422));
      assert.deepEqual(
        errors.map((e: { type: string; loc: unknown[] }) => [e.type, e.loc]),
        [['missing', ['body', endpoint.input.field]]],
        endpoint.path,
      );
    }
  });
});

describe('--input local prediction writes the JSON result and every image field as a file', () => {
  for (const c of CONFORMANCE) {
    test(c.pipeline, async () => {
      const saveDir = await mkdtemp(path.join(os.tmpdir(), `pipeserve-input-${c.pipeline}-`));
      const run = await runCli(['--pipeline', await c.yaml(), '--input', c.inputFile, '--save_path', saveDir]);
      assert.equal(run.code, 0, run.stderr);
      const stem = path.parse(c.inputFile).name;
      const saved = JSON.parse(await readFile(path.join(saveDir, `${stem}_res.json`), 'utf8'));
      assert.equal(saved.input_path, c.inputFile);
      const files = (await readdir(saveDir)).filter((f) => f !== `${stem}_res.json`);
      assert.ok(files.length > 0, 'at least one image was saved');
      // every saved image is referenced by the JSON, which holds file paths instead of Base64
      const json = JSON.stringify(saved);
      for (const f of files) assert.ok(json.includes(path.join(saveDir, f)), `${f} is referenced in the JSON`);
    });
  }
});
