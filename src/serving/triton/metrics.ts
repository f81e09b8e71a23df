/** Triton's Prometheus metrics (`nv_inference_*`, labels model/version) on the metrics port, with prom-client. */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { MODEL_VERSION } from './core.js';

export class TritonMetrics {
  readonly registry = new Registry();
  private readonly success: Counter;
  private readonly failure: Counter;
  private readonly count: Counter;
  private readonly execCount: Counter;
  private readonly requestUs: Counter;
  private readonly queueUs: Counter;
  private readonly computeInputUs: Counter;
  private readonly computeInferUs: Counter;
  private readonly computeOutputUs: Counter;
  private readonly pendingByModel = new Map<string, () => number>();

  constructor() {
    const registers = [this.registry];
    const labelNames = ['model', 'version'];
    const counter = (name: string, help: string, extra: string[] = []) =>
      new Counter({ name, help, labelNames: [...labelNames, ...extra], registers });
    this.success = counter('nv_inference_request_success', 'Number of successful inference requests, all batch sizes');
    this.failure = counter('nv_inference_request_failure', 'Number of failed inference requests, all batch sizes', ['reason']);
    this.count = counter('nv_inference_count', 'Number of inferences performed (does not include cached requests)');
    this.execCount = counter('nv_inference_exec_count', 'Number of model executions performed (does not include cached requests)');
    this.requestUs = counter(
      'nv_inference_request_duration_us',
      'Cumulative inference request duration in microseconds (includes cached requests)',
    );
    this.queueUs = counter(
      'nv_inference_queue_duration_us',
      'Cumulative inference queuing duration in microseconds (includes cached requests)',
    );
    this.computeInputUs = counter(
      'nv_inference_compute_input_duration_us',
      'Cumulative compute input duration in microseconds (does not include cached requests)',
    );
    this.computeInferUs = counter(
      'nv_inference_compute_infer_duration_us',
      'Cumulative compute inference duration in microseconds (does not include cached requests)',
    );
    this.computeOutputUs = counter(
      'nv_inference_compute_output_duration_us',
      'Cumulative inference compute output duration in microseconds (does not include cached requests)',
    );
    const pendingByModel = this.pendingByModel;
    new Gauge({
      name: 'nv_inference_pending_request_count',
      help: 'Instantaneous number of pending requests awaiting execution per-model.',
      labelNames,
      registers,
      collect() {
        for (const [model, pending] of pendingByModel) this.set({ model, version: MODEL_VERSION }, pending());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Series exist from startup at 0, as Triton pre-creates them (failure reasons included). */
  addModel(model: string, pending: () => number): void {
    const labels = { model, version: MODEL_VERSION };
    this.pendingByModel.set(model, pending);
    for (const c of [
      this.success,
      this.count,
      this.execCount,
      this.requestUs,
      this.queueUs,
      this.computeInputUs,
      this.computeInferUs,
      this.computeOutputUs,
    ])
      c.inc(labels, 0);
    for (const reason of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER']) this.failure.inc({ ...labels, reason }, 0);
  }

  /** One request's outcome (its executions are counted by `recordExecution`, once per batch). */
  record(model: string, outcome: { ok: boolean; queueUs: number; computeUs: number; totalUs: number; rejected: boolean }): void {
    const labels = { model, version: MODEL_VERSION };
    if (!outcome.ok) {
      this.failure.inc({ ...labels, reason: outcome.rejected ? 'REJECTED' : 'BACKEND' });
      return;
    }
    this.success.inc(labels);
    this.count.inc(labels);
    this.requestUs.inc(labels, outcome.totalUs);
    this.queueUs.inc(labels, outcome.queueUs);
    this.computeInferUs.inc(labels, outcome.computeUs);
  }

  recordExecution(model: string): void {
    this.execCount.inc({ model, version: MODEL_VERSION });
  }
}
