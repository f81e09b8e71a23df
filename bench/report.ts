/** The bench's printed tables and PASS/FAIL targets. */
import { CONCURRENCIES, configName, SATURATED, SESSION_VARIANTS, type PipelineFigures } from './measure.js';
import { formatTable, ms, perSecond, ratio, shareOf, verdict } from './table.js';

const mainWorkers = (f: PipelineFigures) => f.configs[0]!.workers;
/** images/s if the workers did nothing but session.run */
const modelBound = (f: PipelineFigures) => (mainWorkers(f) * 1000) / f.rawMs;
const saturatedHttp = (f: PipelineFigures) => f.rates.get(SATURATED)!;

export function mainTable(all: PipelineFigures[]): string {
  const row = (label: string, cell: (f: PipelineFigures) => string) => [label, ...all.map(cell)];
  return formatTable(
    ['per image', ...all.map((f) => f.spec.key)],
    [
      row('raw model compute (session.run replay), ms', (f) => ms(f.rawMs)),
      row('in-process predict (worker op, this thread), ms', (f) => ms(f.inProcessMs)),
      row('HTTP end-to-end c=1, ms', (f) => ms(f.configs[0]!.c1Ms)),
      ...CONCURRENCIES.map((c) => row(`HTTP images/s c=${c}`, (f) => perSecond(f.rates.get(c)!))),
      row(`in-process images/s c=${SATURATED} (service.invoke)`, (f) => perSecond(f.invokeRate)),
      row('model-only bound images/s (workers x 1000/raw)', (f) => perSecond(modelBound(f))),
      row('latency c=1: in-process / raw', (f) => ratio(f.inProcessMs / f.rawMs)),
      row('latency c=1: HTTP / in-process', (f) => ratio(f.configs[0]!.c1Ms / f.inProcessMs)),
      row('latency c=1: HTTP / raw', (f) => ratio(f.configs[0]!.c1Ms / f.rawMs)),
      row(`throughput c=${SATURATED}: HTTP / in-process`, (f) => ratio(saturatedHttp(f) / f.invokeRate)),
      row(`throughput c=${SATURATED}: HTTP / model-only bound`, (f) => ratio(saturatedHttp(f) / modelBound(f))),
      row(`throughput c=${SATURATED}: in-process / model-only bound`, (f) => ratio(f.invokeRate / modelBound(f))),
      row('CPU used by other processes meanwhile', (f) => shareOf(f.foreignCpu)),
    ],
  );
}

export function rawDetail(all: PipelineFigures[]): string[] {
  return all.flatMap((f) => f.rawDetail.map((line) => `  ${f.spec.key} ${line}`));
}

export function configTable(all: PipelineFigures[]): string {
  const rows = all.flatMap((f) => f.configs.map((c) => [f.spec.key, configName(c.workers), ms(c.c1Ms), perSecond(c.saturatedRate)]));
  const verdicts = all.map((f) => {
    const fastest = f.configs.reduce((a, b) => (b.c1Ms < a.c1Ms ? b : a));
    const busiest = f.configs.reduce((a, b) => (b.saturatedRate > a.saturatedRate ? b : a));
    return `${f.spec.key}: lowest c=1 latency with ${configName(fastest.workers)}, highest c=${SATURATED} throughput with ${configName(busiest.workers)}`;
  });
  return [formatTable(['pipeline', 'workers x threads', 'HTTP c=1, ms', `HTTP images/s c=${SATURATED}`], rows), '', ...verdicts].join('\n');
}

export function sessionVariantTable(all: PipelineFigures[]): string {
  return formatTable(
    ['raw model compute, ms/img', ...all.map((f) => f.spec.key)],
    SESSION_VARIANTS.map((variant, i) => [variant.name, ...all.map((f) => ms(f.rawByVariant[i]!))]),
  );
}

export function targets(all: PipelineFigures[]): string[] {
  const lines: string[] = [];
  const detection = all.find((f) => f.spec.key === 'detection');
  if (detection) {
    const value = detection.configs[0]!.c1Ms / detection.inProcessMs;
    lines.push(`${verdict(value <= 1.15)}  detection (PicoDet-XS): HTTP end-to-end c=1 <= 1.15x in-process predict: ${ratio(value)}`);
  }
  for (const f of all) {
    const value = saturatedHttp(f) / f.invokeRate;
    lines.push(
      `${verdict(value >= 0.9)}  ${f.spec.key}: HTTP images/s c=${SATURATED} >= 0.9x in-process (service.invoke, same ${mainWorkers(f)} workers): ${ratio(value)}`,
    );
  }
  return lines;
}
