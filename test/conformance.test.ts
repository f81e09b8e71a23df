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
 * The cases in groups one server can serve together: a pipeline sharing an endpoint path with one
 * already in a group (table_recognition and table_recognition_v2 on /table-recognition) opens a new group.
 */
function servedTogether(): Array<typeof CONFORMANCE> {
  const pathsOf = (name: string) => PIPELINES.find((p) => p.pipelineName === name)?.endpoints.map((e) => e.path) ?? [];
  const groups: Array<{ cases: typeof CONFORMANCE; paths: Set<string> }> = [];
  for (const c of CONFORMANCE) {
    const paths = pathsOf(c.pipeline);
    let group = groups.find((g) => paths.every((p) => !g.paths.has(p)));
    if (!group) groups.push((group = { cases: [], paths: new Set() }));
    group.cases.push(c);
    for (const p of paths) group.paths.add(p);
  }
  return groups.map((g) => g.cases);
}

for (const [index, cases] of servedTogether().entries()) {
  describe(`conformance of every pipeline, served together on one port${index ? ` (group ${index + 1}: pipelines sharing a path with an earlier group)` : ''}`, () => {
    const names = new Set(cases.map((c) => c.pipeline));
    let server: RunningServer;
    let openapi: { paths: Record<string, any> };
    const requests = new Map<string, Record<string, unknown>>();
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

    before(async () => {
      const yamls = await Promise.all(cases.map((c) => c.yaml()));
      server = await startServer({ pipelines: yamls, workers: 1 });
      for (const c of cases) for (const [p, body] of Object.entries(await c.requests(server.url))) requests.set(p, body);
      openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as typeof openapi;
    });
    after(() => server?.close());

    const endpoints = () =>
      PIPELINES.filter((p) => names.has(p.pipelineName)).flatMap((p) =>
        p.endpoints.map((e) => ({ pipeline: p.pipelineName, endpoint: e })),
      );
    const requestSchema = (p: string): JsonSchema => openapi.paths[p].post.requestBody.content['application/json'].schema;
    const resultSchema = (p: string): JsonSchema =>
      openapi.paths[p].post.responses['200'].content['application/json'].schema.properties.result;

    test('/openapi.json is a valid OpenAPI document (checked by an OpenAPI validator)', async () => {
      const result = await new Validator().validate(openapi as Parameters<Validator['validate']>[0]);
      assert.ok(result.valid, JSON.stringify(result.errors ?? null).slice(0, 2000));
    });

    test('every POST endpoint publishes its request schema and its full result schema', () => {
      for (const { endpoint } of endpoints()) {
        const req = requestSchema(endpoint.path);
        assert.equal(req.type, 'object', endpoint.path);
        assert.ok(req.required?.includes(endpoint.input.field), `${endpoint.path}: ${endpoint.input.field} is required`);
        const result = resultSchema(endpoint.path);
        assert.equal(result.type, 'object', endpoint.path);
        assert.ok(Object.keys(result.properties ?? {}).length > 0, `${endpoint.path}: the result schema lists its fields`);
      }
      // the full structure, down to the fields inside prunedResult
      if (names.has('OCR')) {
        const ocr = resultSchema('/ocr') as any;
        assert.equal(ocr.properties.ocrResults.items.properties.prunedResult.properties.rec_texts.items.type, 'string');
      }
    });

    test('real responses validate against the published result schema, with and without visualization', async () => {
      for (const { endpoint } of endpoints()) {
        const validate = ajv.compile(resultSchema(endpoint.path));
        const { images, imageMaps } = imageFields(endpoint.result);
        const always = requiredImageFields(resultSchema(endpoint.path));
        for (const visualize of [true, false]) {
          const res = await postJson(`${server.url}${endpoint.path}`, { ...requests.get(endpoint.path), visualize });
          assert.equal(res.status, 200, `${endpoint.path}: ${JSON.stringify(res.body).slice(0, 300)}`);
          assert.deepEqual(Object.keys(res.body), ['logId', 'result', 'errorCode', 'errorMsg']);
          assert.ok(validate(res.body.result), `${endpoint.path} visualize=${visualize}: ${ajv.errorsText(validate.errors)}`);
          const text = JSON.stringify(res.body.result);
          for (const key of always) assert.ok(text.includes(`"${key}":`), `${endpoint.path}: ${key} is always returned`);
          const imageKeys = [...images, ...imageMaps].filter((key) => !always.has(key));
          const hasImage = imageKeys.some((key) => text.includes(`"${key}":`));
          // requests without `visualize` (PaddleX's open-vocabulary apps) follow Serving.visualize, true by default
          const wanted = requestSchema(endpoint.path).properties?.visualize ? visualize : true;
          if (imageKeys.length) assert.equal(hasImage, wanted, `${endpoint.path}: images exactly when visualize=${wanted}`);
        }
      }
    });

    test('unknown request fields are ignored', async () => {
      for (const { endpoint } of endpoints()) {
        const res = await postJson(`${server.url}${endpoint.path}`, {
          ...requests.get(endpoint.path),
          visualize: false,
          notAPaddleXField: [1],
        });
        assert.equal(res.status, 200, endpoint.path);
      }
    });

    test('optional fields accept omission and null where PaddleX accepts null; elsewhere null is a 422', async () => {
      for (const { endpoint } of endpoints()) {
        const schema = requestSchema(endpoint.path);
        const optionalFields = Object.entries(schema.properties ?? {}).filter(([name]) => !schema.required?.includes(name));
        // fields the sample request sets keep their values (fileType: null with Base64 input is rightly a 422)
        const sample = requests.get(endpoint.path)!;
        const nullable = optionalFields.filter(([name, s]) => s.nullable && !(name in sample)).map(([name]) => name);
        const body = { ...requests.get(endpoint.path), ...Object.fromEntries(nullable.map((name) => [name, null])), visualize: false };
        const res = await postJson(`${server.url}${endpoint.path}`, body);
        assert.equal(res.status, 200, `${endpoint.path} with ${nullable.join(', ')} null: ${JSON.stringify(res.body).slice(0, 300)}`);
        for (const [name] of optionalFields.filter(([, s]) => !s.nullable)) {
          const refused = await postJson(`${server.url}${endpoint.path}`, { ...requests.get(endpoint.path), [name]: null });
          assertErrorEnvelope(refused, 422);
        }
      }
    });

    test('a request without its input field is PaddleX’s 422: a JSON list of pydantic-style errors', async () => {
      for (const { endpoint } of endpoints()) {
        const { [endpoint.input.field]: _input, ...otherFields } = requests.get(endpoint.path)!;
        const res = await postJson(`${server.url}${endpoint.path}`, { ...otherFields, visualize: false });
        const errors = JSON.parse(assertErrorEnvelope(res, 422));
        assert.deepEqual(
          errors.map((e: { type: string; loc: unknown[] }) => [e.type, e.loc]),
          [['missing', ['body', endpoint.input.field]]],
          endpoint.path,
        );
      }
    });
  });
}

describe('--input local prediction writes the JSON result and every image field as a file', () => {
  for (const c of CONFORMANCE) {
    test(c.pipeline, async () => {
      const saveDir = await mkdtemp(path.join(os.tmpdir(), `pipeserve-input-${c.pipeline}-`));
      const run = await runCli(['--pipeline', await c.yaml(), '--input', c.inputFile, '--save_path', saveDir, ...(c.inputArgs ?? [])]);
      assert.equal(run.code, 0, run.stderr);
      const stem = path.parse(c.inputFile).name;
      const saved = JSON.parse(await readFile(path.join(saveDir, `${stem}_res.json`), 'utf8'));
      assert.equal(saved.input_path, c.inputFile);
      const files = (await readdir(saveDir)).filter((f) => f !== `${stem}_res.json`);
      // speech and video results have no image fields
      const fields = imageFields(
        PIPELINES.find((p) => p.pipelineName === c.pipeline)!.endpoints.find((e) => e.input.kind !== 'none')!.result,
      );
      if (fields.images.size + fields.imageMaps.size > 0) assert.ok(files.length > 0, 'at least one image was saved');
      else assert.deepEqual(files, [], 'a result without image fields saves no image');
      // every saved image is referenced by the JSON, which holds file paths instead of Base64
      const json = JSON.stringify(saved);
      for (const f of files) assert.ok(json.includes(path.join(saveDir, f)), `${f} is referenced in the JSON`);
    });
  }
});
