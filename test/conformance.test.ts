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
import { CONFORMANCE } from './conformance/pipelines.js';
import { runCli } from './helpers/cli.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; nullable?: boolean; [k: string]: unknown };

/** Image fields a result always has (e.g. doc_preprocessor's `outputImage`), whatever `visualize` says. */
function requiredImageFields(schema: unknown, found = new Set<string>()): Set<string> {
  if (!schema || typeof schema !== 'object') return found;
  const node = schema as JsonSchema;
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const mediaType = String(
      child['x-content-media-type'] ?? (child.additionalProperties as JsonSchema | undefined)?.['x-content-media-type'] ?? '',
    );
    if (node.required?.includes(name) && mediaType.startsWith('image/')) found.add(name);
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

/**
 * The pipelines in as few servers as possible: together on one port, except that pipelines sharing
 * an endpoint path (PaddleX serves layout_parsing and PP-StructureV3 both on /layout-parsing) go to
 * different servers.
 */
function serverGroups(): string[][] {
  const groups: Array<{ pipelines: string[]; paths: Set<string> }> = [];
  for (const p of PIPELINES) {
    const paths = p.endpoints.map((e) => e.path);
    let group = groups.find((g) => paths.every((path) => !g.paths.has(path)));
    if (!group) groups.push((group = { pipelines: [], paths: new Set() }));
    group.pipelines.push(p.pipelineName);
    for (const path of paths) group.paths.add(path);
  }
  return groups.map((g) => g.pipelines);
}

describe('conformance of every pipeline, served together on as few ports as the endpoint paths allow', () => {
  /** per pipeline: its server, its OpenAPI document, its sample requests by path */
  const served = new Map<
    string,
    { server: RunningServer; openapi: { paths: Record<string, any> }; requests: Map<string, Record<string, unknown>> }
  >();
  const servers: RunningServer[] = [];
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  before(async () => {
    for (const group of serverGroups()) {
      const cases = CONFORMANCE.filter((c) => group.includes(c.pipeline));
      const server = await startServer({ pipelines: await Promise.all(cases.map((c) => c.yaml())), workers: 1 });
      servers.push(server);
      const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, any> };
      for (const c of cases) {
        const requests = new Map(Object.entries(await c.requests(server.url)));
        served.set(c.pipeline, { server, openapi, requests });
      }
    }
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  const endpoints = () =>
    PIPELINES.flatMap((p) =>
      p.endpoints.map((e) => {
        const { server, openapi, requests } = served.get(p.pipelineName)!;
        return { pipeline: p.pipelineName, endpoint: e, url: `${server.url}${e.path}`, openapi, sample: requests.get(e.path)! };
      }),
    );
  const requestSchema = (openapi: { paths: Record<string, any> }, p: string): JsonSchema =>
    openapi.paths[p].post.requestBody.content['application/json'].schema;
  const resultSchema = (openapi: { paths: Record<string, any> }, p: string): JsonSchema =>
    openapi.paths[p].post.responses['200'].content['application/json'].schema.properties.result;

  test('/openapi.json is a valid OpenAPI document (checked by an OpenAPI validator)', async () => {
    for (const openapi of new Set([...served.values()].map((s) => s.openapi))) {
      const result = await new Validator().validate(openapi as Parameters<Validator['validate']>[0]);
      assert.ok(result.valid, JSON.stringify(result.errors ?? null).slice(0, 2000));
    }
  });

  test('every POST endpoint publishes its request schema and its full result schema', () => {
    for (const { endpoint, openapi } of endpoints()) {
      const req = requestSchema(openapi, endpoint.path);
      assert.equal(req.type, 'object', endpoint.path);
      assert.ok(req.required?.includes(endpoint.input.field), `${endpoint.path}: ${endpoint.input.field} is required`);
      const result = resultSchema(openapi, endpoint.path);
      assert.equal(result.type, 'object', endpoint.path);
      assert.ok(Object.keys(result.properties ?? {}).length > 0, `${endpoint.path}: the result schema lists its fields`);
    }
    // the full structure, down to the fields inside prunedResult
    const ocr = resultSchema(served.get('OCR')!.openapi, '/ocr') as any;
    assert.equal(ocr.properties.ocrResults.items.properties.prunedResult.properties.rec_texts.items.type, 'string');
  });

  test('real responses validate against the published result schema, with and without visualization', async () => {
    for (const { endpoint, openapi, url, sample } of endpoints()) {
      const validate = ajv.compile(resultSchema(openapi, endpoint.path));
      const { images, imageMaps } = imageFields(endpoint.result);
      const always = requiredImageFields(resultSchema(openapi, endpoint.path));
      for (const visualize of [true, false]) {
        const res = await postJson(url, { ...sample, visualize });
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
    for (const { endpoint, url, sample } of endpoints()) {
      const res = await postJson(url, {
        ...sample,
        visualize: false,
        notAPaddleXField: [1],
      });
      assert.equal(res.status, 200, endpoint.path);
    }
  });

  test('optional fields accept omission and null where PaddleX accepts null; elsewhere null is a 422', async () => {
    for (const { endpoint, openapi, url, sample } of endpoints()) {
      const schema = requestSchema(openapi, endpoint.path);
      const optionalFields = Object.entries(schema.properties ?? {}).filter(([name]) => !schema.required?.includes(name));
      // fields the sample request sets keep their values (fileType: null with Base64 input is rightly a 422)
      const nullable = optionalFields.filter(([name, s]) => s.nullable && !(name in sample)).map(([name]) => name);
      const body = { ...sample, ...Object.fromEntries(nullable.map((name) => [name, null])), visualize: false };
      const res = await postJson(url, body);
      assert.equal(res.status, 200, `${endpoint.path} with ${nullable.join(', ')} null: ${JSON.stringify(res.body).slice(0, 300)}`);
      for (const [name] of optionalFields.filter(([, s]) => !s.nullable)) {
        const refused = await postJson(url, { ...sample, [name]: null });
        assertErrorEnvelope(refused, 422);
      }
    }
  });

  test('a request without its input field is PaddleX’s 422: a JSON list of pydantic-style errors', async () => {
    for (const { endpoint, url, sample } of endpoints()) {
      const { [endpoint.input.field]: _input, ...otherFields } = sample;
      const res = await postJson(url, { ...otherFields, visualize: false });
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
