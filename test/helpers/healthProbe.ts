import { Worker } from 'node:worker_threads';

export interface HealthReport {
  /** latencies of the answered probes, ms */
  latencies: number[];
  /** probes that got no 200 (error, timeout, other status) */
  failures: string[];
}

export interface HealthProbe {
  stop(): Promise<HealthReport>;
}

/** Polls `${url}/health` from a worker thread (fresh connection each time) until stopped; resolves once the first probe is done. */
export async function startHealthProbe(url: string, intervalMs = 20, timeoutMs = 5000): Promise<HealthProbe> {
  const worker = new Worker(new URL('./healthProbeWorker.js', import.meta.url), { workerData: { url, intervalMs, timeoutMs } });
  const report = new Promise<HealthReport>((resolve, reject) => {
    worker.on('message', (message) => {
      if (message !== 'ready') resolve(message);
    });
    worker.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const result = await report;
      await worker.terminate();
      return result;
    },
  };
}

/** Every probe answered 200 within `limitMs`, and there were at least `minProbes` of them. */
export function assertHealthy(report: HealthReport, limitMs: number, minProbes: number): void {
  const slowest = Math.max(...report.latencies);
  if (report.failures.length > 0)
    throw new Error(`/health failed ${report.failures.length} times: ${report.failures.slice(0, 5).join('; ')}`);
  if (report.latencies.length < minProbes) throw new Error(`only ${report.latencies.length} /health probes ran (expected ≥ ${minProbes})`);
  if (slowest > limitMs) {
    const slow = report.latencies.filter((l) => l > limitMs).map((l) => l.toFixed(0));
    throw new Error(
      `/health took up to ${slowest.toFixed(0)} ms (limit ${limitMs} ms); slow probes: ${slow.join(', ')} of ${report.latencies.length}`,
    );
  }
}
