/**
 * Document input, HTTP side, for every pipeline whose request is PaddleX's `{file, fileType}`: file
 * type resolution, PDF pages fanned out over the workers, the page limits, `dataInfo`, and the
 * `Serving.extra` keys of PaddleX's document apps. The worker side is `documentWorker.ts`.
 */
import { z } from 'zod';
import { invalidInput } from '../../errors.js';
import { DEFAULT_MAX_PIXELS } from '../../io/codec.js';
import { resolveFileType } from '../../io/fileType.js';
import type { EndpointContext } from '../define.js';
import { optional } from './request.js';
import type { DataInfo } from './schemas.js';
import type { BuiltSearchablePdf, SearchablePage } from './searchablePdf.js';

/** A request may not make the server render more PDF pages than this, whatever the YAML says. */
export const PDF_PAGE_HARD_LIMIT = 1000;
/** Pixels of all rendered pages of one request (≈ 48 A4 pages at PaddleX's scale 2); one page may have DEFAULT_MAX_PIXELS. */
export const PDF_MAX_PIXELS_PER_REQUEST = 100_000_000;
/** Render time of all pages of one request together; one page may take PDF_PAGE_RENDER_TIMEOUT_MS. */
export const PDF_RENDER_BUDGET_MS = 60_000;

const positiveInt = z.number().int().positive();

/** `Serving.extra` of PaddleX's document apps, with its defaults. Keys for features pipeserve lacks stop startup. */
export const documentServingExtra = z.strictObject(
  {
    /** PDF pages rendered per request; null = all (bounded by PDF_PAGE_HARD_LIMIT) */
    max_num_input_imgs: positiveInt.nullable().default(10),
    /** [height, width] of the largest output image */
    max_output_img_size: z.tuple([positiveInt, positiveInt]).default([2000, 2000]),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.join(', ')}: not supported by pipeserve (images are always returned as Base64; supported keys: max_num_input_imgs, max_output_img_size)`
        : undefined,
  },
);
export type DocumentServingExtra = z.output<typeof documentServingExtra>;

/** PaddleX's `BaseInferRequest`: the file (URL or Base64) and `fileType` 0 = PDF, 1 = image, null = from the URL. */
export const documentRequestFields = {
  file: z.string(),
  // one literal schema (not a union) so a bad value reports pydantic's literal_error "Input should be 0 or 1"
  fileType: optional(z.literal([0, 1])),
};

/** What a page result must tell the HTTP side: the size of the page image, for `dataInfo`. */
export interface PageSize {
  width: number;
  height: number;
}

/** The worker operations every document pipeline has (made by `documentOps`). */
export type DocumentOps<Settings, Page extends PageSize> = {
  predictImage(payload: { image: Uint8Array; settings: Settings }): Promise<Page>;
  /** the page count, and the rendered sizes of the first `maxPages` pages */
  countPdfPages(payload: { pdf: Uint8Array; maxPages: number }): Promise<{ numPages: number; pageSizes: PageSize[] }>;
  predictPdfPage(payload: { pdf: Uint8Array; page: number; settings: Settings; renderTimeoutMs: number }): Promise<{
    page: Page;
    renderMs: number;
  }>;
  /**
   * The searchable PDF of a request's pages, built on an instance: subsetting the CJK font costs
   * about a second of CPU, which belongs in the bounded pool, not on the HTTP thread.
   */
  buildSearchablePdf(payload: { pages: SearchablePage[] }): Promise<BuiltSearchablePdf>;
};

/**
 * Inference lanes a document request is admitted with, known before its input is downloaded: one
 * for an image; for a PDF, one per page that may run at once (at most one per instance), so its
 * pages never wait behind more than the queue bound and it is never refused half-way.
 */
export function documentLanes(req: { file: string; fileType?: 0 | 1 | null }, extra: DocumentServingExtra, instances: number): number {
  if (resolveFileType(req.file, req.fileType) === 'image') return 1;
  return Math.max(1, Math.min(instances, extra.max_num_input_imgs ?? PDF_PAGE_HARD_LIMIT));
}

/** Map with at most `limit` calls in flight, results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Runs a document request: one page for an image, or the first `max_num_input_imgs` pages of a PDF
 * spread over all workers. Each page's worker result is turned into its entry of the response by
 * `toResult` as soon as it finishes, and reported to `ctx.progress`. Returns the entries in page
 * order and PaddleX's `dataInfo`.
 */
export async function runDocument<Ops extends DocumentOps<any, PageSize>, Result>(
  req: { file: string; fileType?: 0 | 1 | null },
  ctx: EndpointContext<Ops, DocumentServingExtra>,
  settings: Parameters<Ops['predictImage']>[0]['settings'],
  toResult: (page: Awaited<ReturnType<Ops['predictImage']>>) => Result,
): Promise<{ pages: Result[]; dataInfo: DataInfo }> {
  type Page = Awaited<ReturnType<Ops['predictImage']>>;
  // The operations every document worker has, seen without the pipeline's own ones.
  const run = ctx.run as unknown as <K extends keyof DocumentOps<unknown, Page>>(
    op: K,
    payload: Parameters<DocumentOps<unknown, Page>[K]>[0],
  ) => ReturnType<DocumentOps<unknown, Page>[K]>;
  /** each page's image size, for `dataInfo` */
  const sizes: PageSize[] = [];
  const finished = (index: number, page: Page): Result => {
    sizes[index] = { width: page.width, height: page.height };
    const result = toResult(page);
    ctx.progress.pageDone(index, result);
    return result;
  };
  const fileType = resolveFileType(req.file, req.fileType);
  const bytes = await ctx.loadInput(req.file, 'file');

  if (fileType === 'image') {
    ctx.progress.pages(1);
    const page = await run('predictImage', { image: bytes, settings });
    return { pages: [finished(0, page)], dataInfo: { width: page.width, height: page.height, type: 'image' } };
  }

  const maxPages = Math.min(ctx.serving.extra.max_num_input_imgs ?? PDF_PAGE_HARD_LIMIT + 1, PDF_PAGE_HARD_LIMIT + 1);
  const { numPages, pageSizes } = await run('countPdfPages', { pdf: bytes, maxPages });
  const pageCount = Math.min(numPages, ctx.serving.extra.max_num_input_imgs ?? numPages);
  if (pageCount > PDF_PAGE_HARD_LIMIT) {
    throw invalidInput(
      `file: the PDF has ${numPages} pages; this server processes at most ${PDF_PAGE_HARD_LIMIT} pages of one request ` +
        `(set Serving.extra.max_num_input_imgs to at most ${PDF_PAGE_HARD_LIMIT} to process only the first pages)`,
    );
  }
  checkPdfPixels(pageSizes.slice(0, pageCount));
  ctx.progress.pages(pageCount);
  // Pages run on the request's admitted lanes at once; each task gets its own copy of the (usually
  // small) PDF bytes. Once the request is aborted, no further page starts. Render time is budgeted
  // per request: each page may use what the pages before it left.
  let renderMsUsed = 0;
  const pages = await mapConcurrent(
    Array.from({ length: pageCount }, (_, i) => i),
    ctx.parallelism,
    async (page): Promise<Result> => {
      const renderTimeoutMs = PDF_RENDER_BUDGET_MS - renderMsUsed;
      if (renderTimeoutMs <= 0) {
        throw invalidInput(
          `file: rendering the PDF's pages took longer than ${PDF_RENDER_BUDGET_MS / 1000} s in total; stopped before page ${page + 1}`,
        );
      }
      const done = await run('predictPdfPage', { pdf: bytes, page, settings, renderTimeoutMs });
      renderMsUsed += done.renderMs;
      return finished(page, done.page as Page);
    },
  );
  return {
    pages,
    dataInfo: { numPages: pages.length, pages: sizes, type: 'pdf' },
  };
}

/** Refuses, before anything is rendered, a page above the per-page pixel limit or pages above the per-request one. */
function checkPdfPixels(sizes: PageSize[]): void {
  let total = 0;
  sizes.forEach(({ width, height }, index) => {
    const pixels = width * height;
    if (pixels > DEFAULT_MAX_PIXELS) {
      throw invalidInput(
        `file: page ${index + 1} renders to ${width}×${height} pixels, which exceeds the limit of ${DEFAULT_MAX_PIXELS} pixels per page`,
      );
    }
    total += pixels;
    if (total > PDF_MAX_PIXELS_PER_REQUEST) {
      throw invalidInput(
        `file: pages 1 to ${index + 1} of the PDF render to ${total} pixels, which exceeds the limit of ` +
          `${PDF_MAX_PIXELS_PER_REQUEST} pixels per request (send fewer or smaller pages)`,
      );
    }
  });
}
