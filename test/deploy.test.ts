/**
 * The deployment files: the Dockerfile (parsed by dockerfile-ast: stages, non-root user, model cache
 * volume, HEALTHCHECK) and the Kubernetes manifests under deploy/kubernetes (validated against the
 * Kubernetes JSON schemas that kubernetes-models bundles), then run for real: the image's command
 * and the Deployment's arguments start the server whose probe paths answer 200, the HEALTHCHECK
 * passes against it, the HPA's metric is one /metrics exports, and the KServe InferenceService's
 * command brings up the Triton-protocol server whose v2 health paths answer. No container engine
 * runs here, so the image itself is not built.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Pod, Service } from 'kubernetes-models/v1';
import YAML from 'yaml';
import { METRICS_PATH } from '../src/serving/metrics.js';
import { TRITON_DEFAULT_PORTS } from '../src/serving/triton/server.js';
import { freePort, type ServerProcess, startServerProcess, tritonPortArgs } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';

const MANIFESTS = path.join(REPO_ROOT, 'deploy', 'kubernetes');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };

async function manifests(): Promise<Manifest[]> {
  const files = (await readdir(MANIFESTS)).filter((f) => f.endsWith('.yaml')).sort();
  const docs = await Promise.all(files.map(async (f) => YAML.parseAllDocuments(await readFile(path.join(MANIFESTS, f), 'utf8'))));
  return docs.flat().map((d) => d.toJS() as Manifest);
}

const byKind = (all: Manifest[], kind: string) => {
  const found = all.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in deploy/kubernetes`);
  return found[0]!;
};

/** KServe's predictor is a PodSpec plus its own scaling fields; without those it must be a valid PodSpec. */
function predictorAsPod(service: Manifest): Pod {
  const { minReplicas: _min, maxReplicas: _max, ...podSpec } = service.spec.predictor;
  return new Pod({ metadata: service.metadata, spec: podSpec });
}

/** The value following `flag` in an argument list. */
function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

function withoutFlag(args: string[], flag: string): string[] {
  const i = args.indexOf(flag);
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
}

/** GET until 200 or the deadline (a server still loading answers nothing or 503). */
async function waitFor200(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}: still ${status || 'no answer'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('Dockerfile', () => {
  let instructions: Instruction[];
  let finalStage: Instruction[];
  const keyword = (list: Instruction[], k: string) => list.filter((i) => i.getKeyword() === k);
  const jsonArgs = (i: Instruction) => JSON.parse(i.getArgumentsContent()!.replace(/^[^[]*/, '')) as string[];

  before(async () => {
    instructions = DockerfileParser.parse(await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).getInstructions();
    const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
    finalStage = instructions.slice(lastFrom);
  });

  test('multi-stage: the runtime stage copies the build from the build stage and installs nothing itself', () => {
    const froms = keyword(instructions, 'FROM').map((f) => f.getArgumentsContent()!);
    assert.ok(froms.length >= 2, froms.join(' | '));
    assert.ok(
      froms.every((f) => /^node:20-/.test(f)),
      'Node.js 20 as engines says',
    );
    const copiesFromBuild = keyword(finalStage, 'COPY').filter((c) => /--from=build\b/.test(c.getTextContent()));
    assert.ok(
      copiesFromBuild.some((c) => /node_modules/.test(c.getTextContent())) &&
        copiesFromBuild.some((c) => /dist\/src/.test(c.getTextContent())),
    );
    assert.ok(
      copiesFromBuild.some((c) => /dist\/playground/.test(c.getTextContent())),
      'the built playground',
    );
    assert.ok(!finalStage.some((i) => /npm (ci|install)/.test(i.getTextContent())), 'no install in the runtime stage');
  });

  test("the runtime stage has Debian's ffmpeg, which the video pipelines decode with", () => {
    const runs = keyword(finalStage, 'RUN').map((r) => r.getArgumentsContent()!);
    assert.ok(
      runs.some((r) => /apt-get install\b.*\bffmpeg\b/.test(r)),
      runs.join(' | '),
    );
  });

  test('runs as a non-root user with the model cache ($PIPESERVE_HOME) as a volume', () => {
    const users = keyword(finalStage, 'USER').map((u) => u.getArgumentsContent()!.trim());
    assert.ok(users.length && !['root', '0'].includes(users.at(-1)!), `USER ${users.at(-1)}`);
    const env = keyword(finalStage, 'ENV')
      .map((e) => e.getArgumentsContent()!)
      .join(' ');
    const home = /PIPESERVE_HOME=(\S+)/.exec(env)?.[1];
    assert.ok(home, 'PIPESERVE_HOME is set');
    assert.deepEqual(
      keyword(finalStage, 'VOLUME').map((v) => v.getArgumentsContent()!.trim()),
      [home],
    );
  });

  describe('its command, EXPOSE and HEALTHCHECK against the real server', () => {
    let server: ServerProcess;
    let exposed: number;
    let healthcheck: string[];

    before(async () => {
      exposed = Number(keyword(finalStage, 'EXPOSE')[0]!.getArgumentsContent());
      const [entrypoint] = keyword(finalStage, 'ENTRYPOINT').map(jsonArgs);
      const [cmd] = keyword(finalStage, 'CMD').map(jsonArgs);
      assert.deepEqual(entrypoint, ['node', 'dist/src/cli/main.js'], 'the image runs the CLI this repository builds');
      assert.equal(Number(flagValue(cmd!, '--port')), exposed, 'CMD listens on the EXPOSEd port');
      healthcheck = jsonArgs(keyword(finalStage, 'HEALTHCHECK')[0]!);
      server = await startServerProcess(withoutFlag(cmd!, '--port'));
    });
    after(() => server?.stop());

    test('the HEALTHCHECK asks /health on the EXPOSEd port, passes against the server and fails without one', async () => {
      const [program, ...args] = healthcheck;
      const script = args.join(' ');
      assert.match(script, new RegExp(`http://127\\.0\\.0\\.1:${exposed}/health'`));
      const port = new URL(server.url).port;
      const run = (onPort: string) =>
        promisify(execFile)(
          program!,
          args.map((a) => a.replace(`:${exposed}/`, `:${onPort}/`)),
        ).then(
          () => 0,
          (err: { code: number }) => err.code,
        );
      assert.equal(await run(port), 0);
      assert.equal(await run(String(await freePort())), 1);
    });
  });
});

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  let all: Manifest[];
  before(async () => {
    all = await manifests();
  });

  test('each validates against its Kubernetes JSON schema (kubernetes-models)', () => {
    new Deployment(byKind(all, 'Deployment')).validate();
    new Service(byKind(all, 'Service')).validate();
    new HorizontalPodAutoscaler(byKind(all, 'HorizontalPodAutoscaler')).validate();
    const inferenceService = byKind(all, 'InferenceService');
    assert.equal(inferenceService.apiVersion, 'serving.kserve.io/v1beta1');
    predictorAsPod(inferenceService).validate();
  });

  test('the validator does catch a broken manifest', () => {
    const broken = structuredClone(byKind(all, 'Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    assert.throws(() => new Deployment(broken).validate(), /containerPort must be integer/);
    const badProbe = structuredClone(byKind(all, 'InferenceService'));
    badProbe.spec.predictor.containers[0].readinessProbe.httpGet.port = { number: 8000 };
    assert.throws(() => predictorAsPod(badProbe).validate());
  });

  test('the Service and the HPA point at the Deployment', () => {
    const deployment = byKind(all, 'Deployment');
    const service = byKind(all, 'Service');
    const hpa = byKind(all, 'HorizontalPodAutoscaler');
    assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
    const portNames = deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    for (const p of service.spec.ports) assert.ok(portNames.includes(p.targetPort), p.targetPort);
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
  });

  describe('the Deployment against the real server started with its arguments', () => {
    let server: ServerProcess;
    let container: any;
    before(async () => {
      container = byKind(all, 'Deployment').spec.template.spec.containers[0];
      const [http] = container.ports;
      assert.equal(Number(flagValue(container.args, '--port')), http.containerPort, 'the server listens on the container port');
      server = await startServerProcess(withoutFlag(container.args, '--port'));
    });
    after(() => server?.stop());

    test('startup, readiness and liveness probes answer 200 on their paths and the named port', async () => {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const { path: probePath, port } = container[probe].httpGet;
        assert.equal(port, container.ports[0].name, probe);
        const res = await fetch(`${server.url}${probePath}`);
        assert.equal(res.status, 200, `${probe} ${probePath}`);
      }
      assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
      assert.equal(container.livenessProbe.httpGet.path, '/health/live');
    });

    test("the HPA's metric is a gauge /metrics exports, at the path and port the scrape annotations give", async () => {
      const deployment = byKind(all, 'Deployment');
      const annotations = deployment.spec.template.metadata.annotations;
      assert.equal(annotations['prometheus.io/path'], METRICS_PATH);
      assert.equal(Number(annotations['prometheus.io/port']), container.ports[0].containerPort);
      const metric = byKind(all, 'HorizontalPodAutoscaler').spec.metrics[0].pods.metric.name;
      const text = await (await fetch(`${server.url}${METRICS_PATH}`)).text();
      assert.match(text, new RegExp(`^# TYPE ${metric} gauge$`, 'm'));
      assert.match(text, new RegExp(`^${metric}\\{pipeline="OCR"\\} 0$`, 'm'));
    });
  });

  test("the KServe InferenceService's command serves the Triton protocol, its probes answering on its port", async () => {
    const container = byKind(all, 'InferenceService').spec.predictor.containers[0];
    assert.equal(container.ports[0].containerPort, TRITON_DEFAULT_PORTS.http, "server.sh's default HTTP port (Triton's)");
    for (const probe of ['readinessProbe', 'livenessProbe']) assert.equal(container[probe].httpGet.port, TRITON_DEFAULT_PORTS.http);
    const sdkDir = await mkdtemp(path.join(os.tmpdir(), 'kserve-sdk-'));
    const ports = { http: await freePort(), grpc: await freePort(), metrics: await freePort() };
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    // the container's own command, run from the repository root (the image's WORKDIR layout), with
    // free ports instead of Triton's (passed on to server.sh as the manifest's "$@" allows)
    const [command, ...args] = container.command as string[];
    const child = spawn(command!, [...args, ...tritonPortArgs(ports)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, HPS_SDK_DIR: sdkDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    try {
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        await waitFor200(`http://127.0.0.1:${ports.http}${container[probe].httpGet.path}`, 180_000).catch((err: Error) => {
          throw new Error(`${err.message}\n${log}`);
        });
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(sdkDir, { recursive: true, force: true });
    }
  });
});
