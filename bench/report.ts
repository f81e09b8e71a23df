/** The bench's printed tables and PASS/FAIL targets. */
import { characterErrorRate, withoutSpaces } from '../test/helpers/cer.js';
import { CONCURRENCIES, configName, SATURATED, SESSION_VARIANTS, type PipelineFigures } from './measure.js';
import { mean } from './load.js';
import { inReadingOrder, paddlexPieces, type TextPage } from './ocrText.js';
import { formatTable, ms, percent, perSecond, ratio, shareOf, verdict } from './table.js';

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

export interface OcrComparison {
  ours: PipelineFigures;
  theirs: { texts: string[]; rates: Map<number, number> };
  oursTexts: string[];
  oursCer: number[];
  theirsCer: number[];
  /** with full-width forms folded to ASCII (NFKC): a "，" for "," is then no error */
  oursCerNfkc: number[];
  theirsCerNfkc: number[];
}

export function compareOcr(ours: PipelineFigures, pages: TextPage[]): OcrComparison {
  if (!ours.baseline) throw new Error('the OCR figures have no @gutenye/ocr-node baseline');
  const oursTexts = ours.results.map((result) => {
    const page = (result as { ocrResults: Array<{ prunedResult: { rec_texts: string[]; rec_boxes: number[][] } }> }).ocrResults[0]!;
    return inReadingOrder(paddlexPieces(page.prunedResult));
  });
  const reference = pages.map((p) => p.lines.join('\n'));
  const cer = (texts: string[], fold: (s: string) => string) => texts.map((text, i) => characterErrorRate(fold(text), fold(reference[i]!)));
  const nfkc = (s: string) => s.normalize('NFKC');
  const same = (s: string) => s;
  return {
    ours,
    theirs: ours.baseline,
    oursTexts,
    oursCer: cer(oursTexts, same),
    theirsCer: cer(ours.baseline.texts, same),
    oursCerNfkc: cer(oursTexts, nfkc),
    theirsCerNfkc: cer(ours.baseline.texts, nfkc),
  };
}

export function ocrTable(pages: TextPage[], cmp: OcrComparison): string {
  const rows = [
    ...CONCURRENCIES.map((c) => {
      const a = cmp.ours.rates.get(c)!;
      const b = cmp.theirs.rates.get(c)!;
      return [`images/s c=${c}`, perSecond(a), perSecond(b), ratio(a / b)];
    }),
    ...pages.map((p, i) => [`CER ${p.name}`, percent(cmp.oursCer[i]!), percent(cmp.theirsCer[i]!), '']),
    ['CER mean', percent(mean(cmp.oursCer)), percent(mean(cmp.theirsCer)), ''],
    ['CER mean, NFKC-folded', percent(mean(cmp.oursCerNfkc)), percent(mean(cmp.theirsCerNfkc)), ''],
  ];
  return formatTable(
    ['OCR', `pipeserve HTTP (${configName(mainWorkers(cmp.ours))})`, '@gutenye/ocr-node (this thread)', 'ours/theirs'],
    rows,
  );
}

/** Recognized lines that match no reference line (spaces ignored), per page and engine: what the CER counts. */
export function misreadLines(pages: TextPage[], cmp: OcrComparison): string[] {
  const out: string[] = [];
  for (const [i, page] of pages.entries()) {
    const reference = new Set(page.lines.map(withoutSpaces));
    for (const [engine, text] of [
      ['pipeserve', cmp.oursTexts[i]!],
      ['@gutenye/ocr-node', cmp.theirs.texts[i]!],
    ] as const) {
      const wrong = text.split('\n').filter((line) => !reference.has(withoutSpaces(line)));
      if (wrong.length) out.push(`  ${page.name}, ${engine}: ${wrong.map((l) => JSON.stringify(l)).join(', ')}`);
    }
  }
  return out;
}

export function targets(all: PipelineFigures[], ocr?: OcrComparison): string[] {
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
  if (ocr) {
    const value = ocr.ours.rates.get(4)! / ocr.theirs.rates.get(4)!;
    lines.push(`${verdict(value >= 2)}  ocr: images/s c=4 >= 2x @gutenye/ocr-node: ${ratio(value)}`);
    const oursCer = mean(ocr.oursCer);
    const theirsCer = mean(ocr.theirsCer);
    lines.push(`${verdict(oursCer <= theirsCer)}  ocr: mean CER <= @gutenye/ocr-node: ${percent(oursCer)} vs ${percent(theirsCer)}`);
  }
  return lines;
}
