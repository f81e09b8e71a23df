/**
 * PaddleX's image recognition pipelines with an index (PP-ShiTuV2, face_recognition): four
 * endpoints `<prefix>-index-build|add|remove` and `<prefix>-infer` with identical shapes. This is
 * the HTTP side: index storage and its cache live here (Serving.extra.index_storage); the worker
 * side (`imageRecognitionWorker.ts`) computes features and searches the index. Each inference
 * instance keeps the indexes it was sent, by key and revision; an infer request names the index
 * and its revision, and its entries cross to an instance only when it lacks that revision.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { ApiError } from '../../errors.js';
import { IndexStore, indexStorageSchema, readIndexFile, type IndexStorageConfig } from '../../io/indexStorage.js';
import { HNSW32, INDEX_TYPES, type IndexSnapshot, type NewEntries } from '../../io/vectorIndex.js';
import { defineEndpoint, definePipeline, type EndpointContext, type PipelineDescriptor } from '../define.js';
import { mapConcurrent } from './documentInput.js';
import type { RecognitionOps } from './imageRecognitionWorker.js';
import { withImage } from './output.js';
import { optional, visualizeField, wantsVisualization } from './request.js';
import { base64Image, boundingBox } from './schemas.js';

/** Serving.extra of these pipelines, parsed into the storage it configures (opened by the descriptor's `open`). */
export class RecognitionIndexes {
  private opened?: IndexStore;
  /** YAML `index`, loaded at startup: used by infer requests without `indexKey` */
  defaultIndex?: IndexSnapshot;

  constructor(readonly storage: IndexStorageConfig) {}

  get store(): IndexStore {
    if (!this.opened) throw new Error('index storage used before the pipeline was opened');
    return this.opened;
  }

  async open(config: PipelineConfig): Promise<void> {
    const store = await IndexStore.fromConfig(this.storage);
    await store.open();
    this.opened = store;
    const index = config.index;
    // PaddleX's YAMLs write `index: None`, which YAML reads as the string "None"
    if (typeof index === 'string' && index !== '' && index !== 'None') this.defaultIndex = await readIndexFile(index, 'index');
  }

  async close(): Promise<void> {
    await this.opened?.close();
    this.opened = undefined;
  }
}

/** The key the YAML `index` goes by in the instances' caches (not a valid indexKey, so never a stored one). */
const YAML_INDEX_KEY = '<yaml index>';

const servingExtra = z
  .looseObject({
    index_storage: indexStorageSchema,
    // PaddleX's serving always builds Flat; HNSW32 (its build_index option) trades exactness for speed on large galleries
    index_type: z.enum(INDEX_TYPES, { error: `one of ${INDEX_TYPES.join(', ')} (PaddleX's IVF is not offered)` }).default('Flat'),
    // HNSW32 searches keep this many candidates: faiss' default (16), which PaddleX leaves as it is; more recalls better
    hnsw_ef_search: z.number().int().positive().default(HNSW32.efSearch),
  })
  .transform((extra) => ({ ...extra, indexes: new RecognitionIndexes(extra.index_storage) }));
type Extra = z.output<typeof servingExtra>;
type Ctx = EndpointContext<RecognitionOps, Extra>;

const imageLabelPairs = z.array(z.object({ image: z.string(), label: z.string() })).min(1, 'give at least one image-label pair');

const recResult = z.object({ label: z.string(), score: z.number() });
const recognizedObject = z.object({ bbox: boundingBox, recResults: z.array(recResult), score: z.number() });

/** Features of every pair's image, computed over the inference workers (in parallel when there are several). */
async function embedPairs(pairs: Array<{ image: string; label: string }>, ctx: Ctx): Promise<NewEntries> {
  const images = await Promise.all(pairs.map((p, i) => ctx.loadInput(p.image, `imageLabelPairs[${i}].image`)));
  const features = await mapConcurrent(images, ctx.parallelism, async (bytes) => (await ctx.run('embed', { image: bytes })).feature);
  const dim = features[0]!.length;
  const vectors = new Float32Array(features.length * dim);
  features.forEach((f, i) => vectors.set(f, i * dim));
  return { dim, labels: pairs.map((p) => p.label), vectors };
}

export interface RecognitionPipelineOptions {
  pipelineName: string;
  /** `/shitu` or `/face-recognition` */
  prefix: string;
  /** result field of infer: `detectedObjects` (ShiTu) or `faces` */
  objectsField: 'detectedObjects' | 'faces';
  what: string;
  worker: string;
}

export function recognitionPipeline<F extends RecognitionPipelineOptions['objectsField']>(
  options: RecognitionPipelineOptions & { objectsField: F },
): PipelineDescriptor<RecognitionOps, Extra> {
  const endpoint = defineEndpoint<RecognitionOps, Extra>();
  const inferResult = z.object({ [options.objectsField]: z.array(recognizedObject), image: base64Image().optional() });
  return definePipeline<RecognitionOps, Extra>({
    pipelineName: options.pipelineName,
    worker: options.worker,
    servingExtra,
    open: (config, serving) => serving.extra.indexes.open(config),
    close: (serving) => serving.extra.indexes.close(),
    endpoints: [
      endpoint({
        path: `${options.prefix}-index-build`,
        operationId: 'buildIndex',
        summary: `Build an index of ${options.what} from labelled images; returns its indexKey`,
        request: z.object({ imageLabelPairs }),
        result: z.object({ indexKey: z.string(), imageCount: z.number().int() }),
        input: { kind: 'none', field: 'imageLabelPairs' },
        async handle(req, ctx) {
          const { indexes, index_type } = ctx.serving.extra;
          const { key, count } = await indexes.store.create(await embedPairs(req.imageLabelPairs, ctx), index_type);
          return { indexKey: key, imageCount: count };
        },
      }),
      endpoint({
        path: `${options.prefix}-index-add`,
        operationId: 'addImagesToIndex',
        summary: `Add labelled images to an index of ${options.what}`,
        request: z.object({ imageLabelPairs, indexKey: z.string() }),
        result: z.object({ imageCount: z.number().int() }),
        input: { kind: 'none', field: 'imageLabelPairs' },
        async handle(req, ctx) {
          const { store } = ctx.serving.extra.indexes;
          await store.check(req.indexKey); // an unknown key fails before any inference
          return { imageCount: await store.add(req.indexKey, await embedPairs(req.imageLabelPairs, ctx)) };
        },
      }),
      endpoint({
        path: `${options.prefix}-index-remove`,
        operationId: 'removeImagesFromIndex',
        summary: `Remove entries (by id) from an index of ${options.what}; unknown ids are ignored`,
        request: z.object({ ids: z.array(z.number().int()), indexKey: z.string() }),
        result: z.object({ imageCount: z.number().int() }),
        input: { kind: 'none', field: 'ids' },
        async handle(req, ctx) {
          return { imageCount: await ctx.serving.extra.indexes.store.remove(req.indexKey, req.ids) };
        },
      }),
      endpoint({
        path: `${options.prefix}-infer`,
        operationId: 'infer',
        summary: `Detect ${options.what} in an image and recognise each against an index`,
        request: z.object({
          image: z.string(),
          indexKey: optional(z.string()),
          detThreshold: optional(z.number()),
          recThreshold: optional(z.number()),
          hammingRadius: optional(z.number().int()),
          // PaddleX accepts `topk` but its pipeline reads `rec_topk`, so the YAML's rec_topk always applies
          topk: optional(z.number().int()),
          visualize: visualizeField,
        }),
        result: inferResult,
        input: { kind: 'image', field: 'image' },
        async handle(req, ctx) {
          const { indexes } = ctx.serving.extra;
          const index = req.indexKey != null ? await indexes.store.snapshot(req.indexKey) : indexes.defaultIndex;
          if (!index) {
            throw new ApiError(
              500,
              'No index to search: pass indexKey (from the index-build endpoint) or set `index` in the pipeline YAML',
            );
          }
          const visualize = wantsVisualization(req.visualize, ctx);
          const bytes = await ctx.loadInput(req.image, 'image');
          const efSearch = ctx.serving.extra.hnsw_ef_search;
          const task = { image: bytes, efSearch, detThreshold: req.detThreshold, recThreshold: req.recThreshold, visualize };
          // The instance keeps the indexes it was sent: send the entries only to one that lacks this revision.
          const reference = { key: req.indexKey ?? YAML_INDEX_KEY, revision: index.revision };
          let result = await ctx.run('infer', { ...task, index: reference });
          if ('indexMissing' in result) {
            const { indexType, dim, ids, labels, vectors } = index;
            const entries = { indexType, dim, ids, labels, vectors };
            result = await ctx.run('infer', { ...task, index: { ...reference, entries } });
          }
          if ('indexMissing' in result) throw new Error('the inference instance did not keep the index it was sent');
          const { objects, image } = result;
          const recognized = objects.map(({ bbox, score, hits }) => ({
            bbox,
            recResults: hits.map((hit) => ({ label: index.labels[hit.row]!, score: hit.score })),
            score,
          }));
          return withImage({ [options.objectsField]: recognized } as Record<F, typeof recognized>, image);
        },
      }),
    ],
  });
}
