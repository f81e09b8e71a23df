/**
 * `GET /metrics` in Prometheus text format (prom-client): requests by endpoint and status, latency,
 * in-flight requests, queue length and wait, busy and live instances, instance restarts and RSS,
 * readiness, and Node's process metrics. Each app has its own registry (tests run several servers
 * in one process).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelineService } from './service.js';

export const METRICS_PATH = '/metrics';

/** seconds: from a cached small image (~10 ms) to multi-page PDFs near the default timeout */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function registerMetrics(app: FastifyInstance, service: PipelineService): void {
  const registers = [new Registry()];
  const [registry] = registers as [Registry];
  collectDefaultMetrics({ register: registry });
  const endpointPaths = new Set(service.endpoints().map((e) => e.endpoint.path));

  const requests = new Counter({
    name: 'pipeserve_requests_total',
    help: 'Requests to pipeline endpoints by HTTP status (499 = the client disconnected first)',
    labelNames: ['endpoint', 'status'],
    registers,
  });
  const seconds = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });
  const latency = seconds('pipeserve_request_duration_seconds', 'Time from request received to response sent, pipeline endpoints', [
    'endpoint',
  ]);
  new Gauge({
    name: 'pipeserve_requests_in_flight',
    help: 'Requests of an endpoint admitted and not yet answered',
    labelNames: ['endpoint'],
    registers,
    collect() {
      for (const path of endpointPaths) this.set({ endpoint: path }, service.inflightRequests(path));
    },
  });

  const pipelineGauge = (
    name: string,
    help: string,
    value: (stats: ReturnType<PipelineService['pipelines'][number]['pool']['stats']>) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['pipeline'],
      registers,
      collect() {
        for (const { config, pool } of service.pipelines) this.set({ pipeline: config.pipeline_name }, value(pool.stats()));
      },
    });
  pipelineGauge('pipeserve_queue_length', 'Tasks waiting for an inference instance', (s) => s.queued);
  pipelineGauge('pipeserve_queue_capacity', 'Tasks allowed to wait beyond one per instance (--max-queue)', (s) => s.maxQueue);
  pipelineGauge(
    'pipeserve_admitted_lanes',
    'Task lanes held by admitted requests (limit: instances + queue capacity)',
    (s) => s.reservedLanes,
  );
  pipelineGauge('pipeserve_instances_busy', 'Inference instances running a task', (s) => s.busy);
  pipelineGauge('pipeserve_instances_live', 'Inference instances with their models loaded', (s) => s.live);
  pipelineGauge('pipeserve_pipeline_ready', '1 when the pipeline has a live instance', (s) => Number(s.ready));
  new Gauge({
    name: 'pipeserve_instance_rss_bytes',
    help: 'Resident memory of each inference instance process, as of its last answer',
    labelNames: ['pipeline', 'instance'],
    registers,
    collect() {
      this.reset();
      for (const { config, pool } of service.pipelines) {
        for (const i of pool.stats().detail) this.set({ pipeline: config.pipeline_name, instance: String(i.slot) }, i.rssBytes);
      }
    },
  });

  const queueWait = seconds('pipeserve_queue_wait_seconds', 'Time a task waited for an inference instance', ['pipeline']);
  const compute = seconds('pipeserve_task_duration_seconds', 'Time an inference instance spent on a task, by operation', [
    'pipeline',
    'op',
  ]);
  const restarts = new Counter({
    name: 'pipeserve_instance_restarts_total',
    help: 'Inference instances replaced, by reason (crash, timeout = stuck past --timeout, startup = a replacement failed to load, recycle)',
    labelNames: ['pipeline', 'reason'],
    registers,
  });
  for (const { config, pool } of service.pipelines) {
    const pipeline = config.pipeline_name;
    pool.on('taskDone', (t) => {
      queueWait.observe({ pipeline }, t.queueMs / 1000);
      compute.observe({ pipeline, op: t.op }, t.computeMs / 1000);
    });
    pool.on('instanceExit', ({ reason }) => restarts.inc({ pipeline, reason }));
  }

  const endpointOf = (url: string | undefined) => (url && endpointPaths.has(url) ? url : undefined);
  app.addHook('onResponse', async (request, reply) => {
    const endpoint = endpointOf(request.routeOptions.url);
    if (!endpoint) return;
    requests.inc({ endpoint, status: String(reply.statusCode) });
    latency.observe({ endpoint }, reply.elapsedTime / 1000);
  });
  app.addHook('onRequestAbort', async (request) => {
    const endpoint = endpointOf(request.routeOptions.url);
    if (endpoint) requests.inc({ endpoint, status: '499' });
  });

  app.get(METRICS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
