/**
 * Worker thread of healthProbe.ts: GET /health on a fresh connection every `intervalMs` until told to
 * stop, then report every latency. Its own event loop, so the test's work does not delay it.
 */
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, intervalMs, timeoutMs } = workerData as { url: string; intervalMs: number; timeoutMs: number };
const latencies: number[] = [];
const failures: string[] = [];
let stopping = false;

function probeOnce(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.get(`${url}/health`, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - started);
        else failures.push(`HTTP ${res.statusCode}`);
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => {
      failures.push(err.message);
      resolve();
    });
  });
}

parentPort!.on('message', () => {
  stopping = true;
});

for (let probes = 0; !stopping; probes++) {
  const started = performance.now();
  await probeOnce();
  if (probes === 0) parentPort!.postMessage('ready');
  await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - started))));
}
parentPort!.postMessage({ latencies, failures });
