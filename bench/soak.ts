/**
 * `npm run bench:soak`: the OCR server (a real `pipeserve --serve` process, 2 instances) at saturation
 * for SOAK_MINUTES (default 10) with a mix of rendered text pages and 3-page PDFs, then an overload
 * phase: more requests in flight than the pipeline admits, while one client probes one request at a
 * time (its latency is the server's, not a queue of our own sockets). Meanwhile one more client
 * sends bad requests and abandons PDFs mid-way (error and cancellation paths). Prints unexpected
 * errors, latency percentiles, the RSS of the server with its instances after warm-up and at the
 * end, and how fast overload is refused. Targets are PASS/FAIL text.
 */
import { Pool } from 'undici';
import { startServerProcess } from '../test/helpers/cli.js';
import { makePdf } from '../test/helpers/inputs.js';
import { CpuWatch, treeRssBytes } from './machine.js';
import { renderTextPages } from './ocrText.js';
import { closedLoop, measureOverload, type Outcome, overloadLines, percentile, post } from './overload.js';
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
/** one client also sends, this often, a request with bad Base64 (422) and a PDF it abandons mid-way (cancellation) */
const SIDE_LOAD_EVERY_MS = 1000;
const ABANDON_AFTER_MS = 300;

interface SideLoad {
  /** 422 envelopes received for the bad requests */
  refused: number;
  /** PDFs the client gave up on */
  abandoned: number;
  unexpected: Outcome[];
}

/** Error paths under load: refused bodies and client disconnects must leave nothing behind (RSS, lanes). */
async function sideLoad(client: Pool, pdfBody: Buffer, until: number): Promise<SideLoad> {
  const result: SideLoad = { refused: 0, abandoned: 0, unexpected: [] };
  const bad = Buffer.from(JSON.stringify({ file: 'not*base64', fileType: 1 }));
  while (performance.now() < until) {
    const refused = await post(client, '/ocr', bad, 'bad Base64');
    if (refused.status === 422) result.refused++;
    else result.unexpected.push(refused);
    try {
      const res = await client.request({
        path: '/ocr',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: pdfBody,
        signal: AbortSignal.timeout(ABANDON_AFTER_MS),
      });
      // answered before we gave up (a refusal, or a very fast server): it counts like any request
      const outcome = { kind: 'abandoned pdf', status: res.statusCode, ms: 0 };
      await res.body.dump();
      if (res.statusCode !== 200) result.unexpected.push(outcome);
    } catch {
      result.abandoned++;
    }
    await new Promise((resolve) => setTimeout(resolve, SIDE_LOAD_EVERY_MS));
  }
  return result;
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
  // no client-side timeouts: on a busy machine a request may take minutes, which is a latency to report, not a failure
  const client = new Pool(server.url, { connections: CONCURRENCY + 1, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const cpu = new CpuWatch();
  try {
    const started = performance.now();
    const rss: Array<{ atMs: number; bytes: number }> = [];
    const sampler = setInterval(() => rss.push({ atMs: performance.now() - started, bytes: treeRssBytes(pid) }), RSS_SAMPLE_MS);
    const progress = setInterval(
      () => process.stderr.write(`soak: ${((performance.now() - started) / 60_000).toFixed(1)} of ${MINUTES} min\n`),
      60_000,
    );
    const [soak, side] = await Promise.all([
      closedLoop(client, '/ocr', bodies, CONCURRENCY, started + DURATION_MS),
      sideLoad(client, bodies.at(-1)!.body, started + DURATION_MS),
    ]);
    clearInterval(sampler);
    clearInterval(progress);
    const errors = [...soak.filter((o) => o.status !== 200), ...side.unexpected];

    const overload = await measureOverload(server.url, '/ocr', bodies[0]!.body, OVERLOAD_CONCURRENCY, OVERLOAD_MS);
    const { summary, target } = overloadLines(overload);

    const warm = rss.filter((s) => s.atMs >= WARMUP_MS);
    const rssAtWarmup = warm[0]?.bytes ?? Number.NaN;
    const rssAtEnd = rss.at(-1)?.bytes ?? Number.NaN;
    const rssPeak = Math.max(...warm.map((s) => s.bytes));
    const growth = (rssAtEnd - rssAtWarmup) / rssAtWarmup;
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

    const out = [
      `pipeserve soak: OCR, ${INSTANCES} instances, ${MINUTES} min closed loop at c=${CONCURRENCY} (images and 3-page PDFs), then ${OVERLOAD_MS / 1000} s at c=${OVERLOAD_CONCURRENCY} (pipeline admits ${CAPACITY} lanes) plus serial probes`,
      `other processes used ${percent(cpu.foreignShare() ?? Number.NaN)} of the machine meanwhile (figures taken on a busy machine are not comparable)`,
      ...(MINUTES < 10
        ? [`SOAK_MINUTES=${MINUTES}: shorter than the 10-minute soak the targets are for; the verdicts below are for this run only`]
        : []),
      '',
      formatTable(['request', 'answered 200', 'p50', 'p99', 'max'], latencyRows(soak)),
      '',
      `requests: ${soak.length} (${(soak.length / (DURATION_MS / 1000)).toFixed(2)}/s) plus ${side.refused} bad ones refused with 422 and ${side.abandoned} PDFs abandoned after ${ABANDON_AFTER_MS} ms; unexpected errors: ${errors.length}`,
      ...errors.slice(0, 5).map((e) => `  ${e.kind}: HTTP ${e.status} ${e.message}`),
      `RSS of server + instances: ${mb(rssAtWarmup)} after ${WARMUP_MS / 1000} s warm-up, ${mb(rssAtEnd)} at the end (peak ${mb(rssPeak)}), growth ${percent(growth)}`,
      summary,
      '',
      `${verdict(errors.length === 0 && overload.unexpected.length === 0)}  0 unexpected errors`,
      `${verdict(growth < 0.1)}  RSS growth after warm-up < 10%: ${percent(growth)}`,
      target,
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
