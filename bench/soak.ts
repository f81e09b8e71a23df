/**
 * `npm run bench:soak`: the OCR server (a real `pipeserve --serve` process, 2 instances) at saturation
 * for SOAK_MINUTES (default 10) with a mix of rendered text pages and 3-page PDFs, then an overload
 * phase: more requests in flight than the pipeline admits, while one client probes one request at a
 * time (its latency is the server's, not a queue of our own sockets). Prints unexpected errors, latency percentiles, the RSS of the server with its instances
 * after warm-up and at the end, and how fast overload is refused. Targets are PASS/FAIL text.
 */
import { Pool } from 'undici';
import { startServerProcess } from '../test/helpers/cli.js';
import { makePdf } from '../test/helpers/inputs.js';
import { CpuWatch, treeRssBytes } from './machine.js';
import { renderTextPages } from './ocrText.js';
import { formatTable, ms, percent, verdict } from './table.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const DURATION_MS = MINUTES * 60_000;
/** RSS is compared from the end of warm-up: models, caches and allocator pools have settled by then */
const WARMUP_MS = Math.min(60_000, DURATION_MS / 5);
const INSTANCES = 2;
/** closed-loop lanes: every instance busy with work waiting behind it, well within the default queue bound */
const CONCURRENCY = 6;
/** default --max-queue (16 × instances) + instances: lanes a pipeline admits; the overload keeps more than that in flight */
const CAPACITY = INSTANCES * 17;
const OVERLOAD_CONCURRENCY = CAPACITY + 8;
const OVERLOAD_MS = 20_000;
const RSS_SAMPLE_MS = 5000;

interface Outcome {
  kind: string;
  status: number;
  ms: number;
  message?: string;
}

function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function post(client: Pool, body: Buffer, kind: string): Promise<Outcome> {
  const started = performance.now();
  const res = await client.request({ path: '/ocr', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const envelope = (await res.body.json()) as { errorCode?: number; errorMsg?: string };
  return { kind, status: res.statusCode, ms: performance.now() - started, message: res.statusCode === 200 ? undefined : envelope.errorMsg };
}

/** Closed loop over `bodies` until `until` (performance.now() ms). */
async function closedLoop(
  client: Pool,
  bodies: ReadonlyArray<{ kind: string; body: Buffer }>,
  lanes: number,
  until: number,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < until) {
        const item = bodies[next++ % bodies.length]!;
        outcomes.push(await post(client, item.body, item.kind));
      }
    }),
  );
  return outcomes;
}

function latencyRows(outcomes: readonly Outcome[]): string[][] {
  const kinds = [...new Set(outcomes.map((o) => o.kind))];
  return kinds.map((kind) => {
    const times = outcomes.filter((o) => o.kind === kind && o.status === 200).map((o) => o.ms);
    return [kind, String(times.length), ms(percentile(times, 50)), ms(percentile(times, 99)), ms(Math.max(...times))];
  });
}

async function main(): Promise<void> {
  const pages = await renderTextPages();
  const pdf = await makePdf(pages.slice(0, 3).map((p) => p.lines));
  const bodies = [
    ...pages.map((p) => ({
      kind: 'image',
      body: Buffer.from(JSON.stringify({ file: Buffer.from(p.png).toString('base64'), fileType: 1, visualize: false })),
    })),
    {
      kind: 'pdf (3 pages)',
      body: Buffer.from(JSON.stringify({ file: Buffer.from(pdf).toString('base64'), fileType: 0, visualize: false })),
    },
    {
      kind: 'pdf (3 pages)',
      body: Buffer.from(JSON.stringify({ file: Buffer.from(pdf).toString('base64'), fileType: 0, visualize: false })),
    },
  ];
  const server = await startServerProcess(['--pipeline', 'OCR', '--workers', String(INSTANCES)]);
  const pid = server.child.pid!;
  const client = new Pool(server.url, { connections: OVERLOAD_CONCURRENCY, pipelining: 1 });
  const cpu = new CpuWatch();
  try {
    const started = performance.now();
    const rss: Array<{ atMs: number; bytes: number }> = [];
    const sampler = setInterval(() => rss.push({ atMs: performance.now() - started, bytes: treeRssBytes(pid) }), RSS_SAMPLE_MS);
    const progress = setInterval(
      () => process.stderr.write(`soak: ${((performance.now() - started) / 60_000).toFixed(1)} of ${MINUTES} min\n`),
      60_000,
    );
    const soak = await closedLoop(client, bodies, CONCURRENCY, started + DURATION_MS);
    clearInterval(sampler);
    clearInterval(progress);
    const errors = soak.filter((o) => o.status !== 200);

    const image = bodies[0]!;
    const overloadEnds = performance.now() + OVERLOAD_MS;
    const filler = closedLoop(client, [image], OVERLOAD_CONCURRENCY, overloadEnds);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the pipeline fills up
    const probes = await closedLoop(client, [image], 1, overloadEnds);
    const overload = [...(await filler), ...probes];
    const refused = probes.filter((o) => o.status === 503);
    const unexpectedInOverload = overload.filter((o) => o.status !== 200 && o.status !== 503);

    const warm = rss.filter((s) => s.atMs >= WARMUP_MS);
    const rssAtWarmup = warm[0]?.bytes ?? Number.NaN;
    const rssAtEnd = rss.at(-1)?.bytes ?? Number.NaN;
    const rssPeak = Math.max(...warm.map((s) => s.bytes));
    const growth = (rssAtEnd - rssAtWarmup) / rssAtWarmup;
    const refusedP99 = percentile(
      refused.map((o) => o.ms),
      99,
    );
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

    const out = [
      `pipeserve soak: OCR, ${INSTANCES} instances, ${MINUTES} min closed loop at c=${CONCURRENCY} (images and 3-page PDFs), then ${OVERLOAD_MS / 1000} s at c=${OVERLOAD_CONCURRENCY} (pipeline admits ${CAPACITY} lanes) plus serial probes`,
      `other processes used ${percent(cpu.foreignShare() ?? Number.NaN)} of the machine meanwhile (figures taken on a busy machine are not comparable)`,
      '',
      formatTable(['request', 'answered 200', 'p50', 'p99', 'max'], latencyRows(soak)),
      '',
      `requests: ${soak.length} (${(soak.length / (DURATION_MS / 1000)).toFixed(2)}/s), unexpected errors: ${errors.length}`,
      ...errors.slice(0, 5).map((e) => `  ${e.kind}: HTTP ${e.status} ${e.message}`),
      `RSS of server + instances: ${mb(rssAtWarmup)} after ${WARMUP_MS / 1000} s warm-up, ${mb(rssAtEnd)} at the end (peak ${mb(rssPeak)}), growth ${percent(growth)}`,
      `overload: ${overload.length} requests, probes one at a time: ${probes.length}, ${refused.length} of them refused with 503 (p50 ${ms(
        percentile(
          refused.map((o) => o.ms),
          50,
        ),
      )}, p99 ${ms(refusedP99)}), ${overload.filter((o) => o.status === 200).length} served, ${unexpectedInOverload.length} other errors`,
      '',
      `${verdict(errors.length === 0 && unexpectedInOverload.length === 0)}  0 unexpected errors`,
      `${verdict(growth < 0.1)}  RSS growth after warm-up < 10%: ${percent(growth)}`,
      `${verdict(refused.length > 0 && refusedP99 < 50)}  overload refused with 503 in < 50 ms at p99: ${ms(refusedP99)}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await client.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
