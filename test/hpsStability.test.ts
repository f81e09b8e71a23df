/**
 * High-stability serving under load, through the generated SDK's server.sh: Triton's dynamic
 * batcher (requests within the queue delay run as one model call, each answered on its own) and
 * an instance killed while requests run (readiness goes false and back, nothing hangs).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeClients, type HpsEnvelope, modelReady, TritonRequestError, tritonRequest } from '@pipeserve/hps-client';
import { writeHpsSdk } from '../src/serving/triton/sdk.js';
import { classifierFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { modelMetric, type SdkServer, startSdkServer } from './helpers/hps.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';

const MODEL = 'image-classification';
const IMAGES = [
  path.join(SKIMAGE_DATA, 'chelsea.png'),
  path.join(SKIMAGE_DATA, 'coffee.png'),
  path.join(SKIMAGE_DATA, 'astronaut.png'),
  path.join(OPENCV_DATA, 'messi5.jpg'),
  path.join(OPENCV_DATA, 'fruits.jpg'),
  path.join(OPENCV_DATA, 'orange.jpg'),
  path.join(OPENCV_DATA, 'baboon.jpg'),
];

/** PaddleX's config_cpu.pbtxt with the given max_batch_size, instance count and extra lines. */
function modelConfig(maxBatchSize: number, count: number, extra = ''): string {
  return `backend: "python"
max_batch_size: ${maxBatchSize}
input [ { name: "input" data_type: TYPE_STRING dims: [ 1 ] } ]
output [ { name: "output" data_type: TYPE_STRING dims: [ 1 ] } ]
instance_group [ { count: ${count} kind: KIND_CPU } ]
${extra}`;
}

/** The image_classification SDK on the test classifier, its model configured by `config`. */
async function classificationSdk(config: string): Promise<string> {
  const yaml = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
  const sdk = await writeHpsSdk(yaml, await mkdtemp(path.join(os.tmpdir(), 'hps-sdk-')));
  await writeFile(path.join(sdk, 'server', 'model_repo', MODEL, 'config.pbtxt'), config);
  return sdk;
}

async function requests(): Promise<Array<Record<string, unknown>>> {
  const valid = await Promise.all(IMAGES.map(async (file) => ({ image: (await readFile(file)).toString('base64'), visualize: false })));
  // an image that cannot be decoded: its own 422, whatever batch it lands in
  return [...valid, { image: Buffer.from('not an image').toString('base64'), visualize: false }];
}

describe('dynamic batching (max_batch_size 8, one instance)', () => {
  let server: SdkServer;

  before(async () => {
    const batching = 'dynamic_batching { max_queue_delay_microseconds: 200000 preferred_batch_size: [ 8 ] }\n';
    server = await startSdkServer(await classificationSdk(modelConfig(8, 1, batching)));
  });

  after(async () => {
    closeClients();
    await server?.stop();
  });

  test('concurrent requests run as one model call, each with its own answer, identical to unbatched runs', async () => {
    const bodies = await requests();
    const counts = async () => ({
      inferences: await modelMetric(server, 'nv_inference_count', MODEL),
      executions: await modelMetric(server, 'nv_inference_exec_count', MODEL),
    });

    const start = await counts();
    const alone: HpsEnvelope[] = [];
    for (const body of bodies) alone.push(await tritonRequest(server.grpc, MODEL, body, { timeout: 120 }));
    const afterAlone = await counts();
    assert.equal(afterAlone.inferences - start.inferences, bodies.length);
    assert.equal(afterAlone.executions - start.executions, bodies.length, 'one at a time: one execution per request');

    const together = await Promise.all(
      bodies.map((body, i) =>
        tritonRequest(i % 2 ? server.http : server.grpc, MODEL, body, { protocol: i % 2 ? 'http' : 'grpc', timeout: 120 }),
      ),
    );
    const afterTogether = await counts();
    assert.equal(afterTogether.inferences - afterAlone.inferences, bodies.length);
    const executions = afterTogether.executions - afterAlone.executions;
    assert.ok(executions < bodies.length, `${bodies.length} concurrent requests took ${executions} executions`);

    const strip = ({ logId: _logId, ...rest }: HpsEnvelope) => rest;
    assert.deepEqual(together.map(strip), alone.map(strip));
    assert.equal(together.at(-1)!.errorCode, 422, 'the undecodable image fails alone');
    for (const envelope of together.slice(0, -1)) assert.equal(envelope.errorCode, 0, envelope.errorMsg);

    const stats = (await (await fetch(`${server.http}/v2/models/${MODEL}/stats`)).json()) as {
      model_stats: Array<{ execution_count: number; batch_stats: Array<{ batch_size: number; compute_infer: { count: number } }> }>;
    };
    const batched = stats.model_stats[0]!.batch_stats.filter((b) => b.batch_size > 1);
    assert.ok(batched.length > 0, `batch_stats shows batches larger than 1: ${JSON.stringify(stats.model_stats[0]!.batch_stats)}`);
  });
});

describe('an instance killed under load (instance_group count 2)', () => {
  let server: SdkServer;

  before(async () => {
    server = await startSdkServer(await classificationSdk(modelConfig(1, 2)));
  });

  after(async () => {
    closeClients();
    await server?.stop();
  });

  test('in-flight requests fail as Triton errors, readiness goes false then true, later requests succeed, none hangs', async () => {
    const [body] = await requests();
    const instancePids = () =>
      execFileSync('pgrep', ['-P', String(server.child.pid)])
        .toString()
        .trim()
        .split('\n')
        .map(Number);
    const before = instancePids();
    assert.equal(before.length, 2, 'two instance processes');

    const failures: unknown[] = [];
    let successes = 0;
    let running = true;
    const client = async (i: number) => {
      const protocol = i % 2 ? 'http' : 'grpc';
      while (running) {
        try {
          const envelope = await tritonRequest(protocol === 'http' ? server.http : server.grpc, MODEL, body, { protocol, timeout: 60 });
          assert.equal(envelope.errorCode, 0, envelope.errorMsg);
          successes++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const load = [0, 1, 2, 3].map(client);
    while (successes < 8) await new Promise((r) => setTimeout(r, 20));

    process.kill(before[0]!, 'SIGKILL');
    const readiness = async () => [await modelReady(server.http, MODEL, { protocol: 'http' }), await modelReady(server.grpc, MODEL)];
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    // not ready (both protocols) until the replacement has loaded, then ready again
    for (const wanted of [false, true]) {
      for (;;) {
        const [http, grpc] = await readiness();
        if (http === wanted && grpc === wanted) break;
        assert.ok(Date.now() < deadline, `readiness never became ${wanted}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      seen.push(String(wanted));
    }
    assert.deepEqual(seen, ['false', 'true']);
    const succeededBeforeRecovery = successes;
    while (successes < succeededBeforeRecovery + 8) await new Promise((r) => setTimeout(r, 20));
    running = false;
    await Promise.all(load);

    assert.ok(failures.length <= 1, `only the killed instance's one request may fail, got ${failures.length}`);
    for (const err of failures) {
      assert.ok(err instanceof TritonRequestError, String(err));
      assert.ok(
        (err.protocol === 'grpc' && err.status === 13) || (err.protocol === 'http' && err.status === 500),
        `${err.protocol} ${err.status}`,
      );
      assert.match(err.message, /Failed to process the request\(s\) for model 'image-classification'.*died \(signal SIGKILL\)/);
    }
    const after = instancePids();
    assert.equal(after.length, 2);
    assert.ok(!after.includes(before[0]!), 'the killed instance was replaced');
    assert.match(server.log(), /died \(signal SIGKILL\); replacing it/);
  });
});
