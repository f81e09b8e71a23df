/** Worker side of the image recognition pipelines (see imageRecognition.ts). */
import { z } from 'zod';
import { readParam, type PipelineConfig } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import type { RgbImage } from '../../io/image.js';
import { checkDim, type IndexData } from '../../io/vectorIndex.js';
import { HnswGraph } from '../../ops/hnswSearch.js';
import { cropImage } from '../../ops/resize.js';
import { searchInnerProduct, type VectorHit } from '../../ops/vectorSearch.js';
import { loadModel } from '../../models/registry.js';
import type { DetectedObject } from '../../models/objectDetection.js';
import { defineWorker, type OpsOf } from '../define.js';
import { drawDetections } from './drawDetections.js';

/**
 * The index to search, named by key and revision. Its entries ride along only when the HTTP side
 * was told this instance lacks that revision (`indexMissing`): an instance keeps what it was sent.
 */
export interface IndexReference {
  key: string;
  revision: string;
  entries?: Pick<IndexData, 'indexType' | 'dim' | 'ids' | 'labels' | 'vectors'>;
}

export interface RecognitionTask {
  /** encoded image bytes */
  image: Uint8Array;
  index: IndexReference;
  /** HNSW32 indexes: candidates kept while searching (Serving.extra.hnsw_ef_search) */
  efSearch: number;
  detThreshold?: number | null;
  recThreshold?: number | null;
  visualize: boolean;
}

export interface RecognizedObjectResult {
  bbox: [number, number, number, number];
  score: number;
  /** index rows, best first; empty when the best score is below the recognition threshold */
  hits: VectorHit[];
}

export type RecognitionTaskResult =
  | {
      objects: RecognizedObjectResult[];
      /** JPEG, when visualizing */
      image?: Uint8Array;
    }
  /** this instance has no copy of the index at that revision: send the task again with its entries */
  | { indexMissing: true };

type IndexEntries = NonNullable<IndexReference['entries']>;

/** How many indexes an instance keeps (most recently used); as many as the HTTP side caches. */
const CACHED_INDEXES = 16;

/** An index as an instance holds it: its entries and, for HNSW32, the graph built over them. */
interface HeldIndex {
  revision: string;
  entries: IndexEntries;
  graph?: HnswGraph;
}

/** A new revision of an HNSW32 index updates the graph of the previous one (adds and deletions only). */
function hold(revision: string, entries: IndexEntries, previous: HeldIndex | undefined): HeldIndex {
  if (entries.indexType === 'Flat') return { revision, entries };
  const graph = previous?.graph && previous.entries.dim === entries.dim ? previous.graph : new HnswGraph(entries.dim);
  graph.sync(entries.ids, entries.vectors);
  return { revision, entries, graph };
}

/** The `topk` rows of the index nearest each query, best first. */
function searchHeld(index: HeldIndex, queries: Float32Array, topk: number, efSearch: number): VectorHit[][] {
  const { dim, ids, vectors } = index.entries;
  if (!index.graph) return searchInnerProduct(vectors, dim, queries, topk);
  return index.graph.search(queries, topk, vectors, new Map(ids.map((id, row) => [id, row])), efSearch);
}

/**
 * The indexes this instance was sent, by key, each at the revision it was sent at. A request for
 * another revision (the index changed since) misses, so a change is seen by the next search.
 */
class InstanceIndexCache {
  private readonly byKey = new Map<string, HeldIndex>();

  /** `ref`'s index at its revision: from the entries it carries (kept for next time), else the cached ones. */
  resolve(ref: IndexReference): HeldIndex | undefined {
    const cached = this.byKey.get(ref.key);
    const held = ref.entries ? hold(ref.revision, ref.entries, cached) : cached?.revision === ref.revision ? cached : undefined;
    if (!held) return undefined;
    this.byKey.delete(ref.key);
    this.byKey.set(ref.key, held);
    if (this.byKey.size > CACHED_INDEXES) this.byKey.delete(this.byKey.keys().next().value!);
    return held;
  }
}

/** PaddleX's pipeline-level keys of PP-ShiTuV2.yaml / face_recognition.yaml, with its fallbacks. */
function pipelineParams(config: PipelineConfig) {
  return {
    detThreshold: readParam(config, 'det_threshold', z.number(), 'det_threshold', 0.5),
    recThreshold: readParam(config, 'rec_threshold', z.number(), 'rec_threshold', 0.5),
    topk: readParam(config, 'rec_topk', z.number().int().positive(), 'rec_topk', 5),
  };
}

/** PaddleX's CropByBoxes: the box's coordinates truncated to integers, as a numpy slice. */
function cropBox(img: RgbImage, [x1, y1, x2, y2]: [number, number, number, number]): RgbImage {
  const left = Math.max(0, Math.trunc(x1));
  const top = Math.max(0, Math.trunc(y1));
  const right = Math.min(img.width, Math.trunc(x2));
  const bottom = Math.min(img.height, Math.trunc(y2));
  return cropImage(img, left, top, Math.max(1, right - left), Math.max(1, bottom - top));
}

/**
 * The worker module of a recognition pipeline: `SubModules.Detection` finds objects (or faces),
 * `SubModules.Recognition` turns each crop into a feature, the index gives the nearest labels.
 * `wholeImageFallback` (ShiTu): with nothing detected, the whole image is one object, label
 * `full_img`, score 0.
 */
export function recognitionWorker(options: { wholeImageFallback: boolean; featureFamily: 'image_feature' | 'face_feature' }) {
  return defineWorker(async (config, rt) => {
    const detector = await loadModel(config, 'Detection', 'object_detection', rt);
    const extractor = await loadModel(config, 'Recognition', options.featureFamily, rt);
    const params = pipelineParams(config);
    const indexes = new InstanceIndexCache();
    return {
      async embed({ image }: { image: Uint8Array }): Promise<{ feature: Float32Array }> {
        const [feature] = await extractor.predict([await decodeImage(image, 'image')]);
        return { feature: feature! };
      },

      async infer(task: RecognitionTask): Promise<RecognitionTaskResult> {
        const index = indexes.resolve(task.index);
        if (!index) return { indexMissing: true };
        const img = await decodeImage(task.image, 'image');
        const [detected] = await detector.predict([img], { threshold: task.detThreshold ?? params.detThreshold });
        let boxes: Array<Pick<DetectedObject, 'coordinate' | 'score'>> = detected!;
        if (!boxes.length && options.wholeImageFallback) boxes = [{ coordinate: [0, 0, img.width, img.height], score: 0 }];
        const features = await extractor.predict(boxes.map((b) => cropBox(img, b.coordinate)));
        const { dim, vectors, labels } = index.entries;
        if (features.length) checkDim(dim, features[0]!.length);
        const queries = new Float32Array(features.length * dim);
        features.forEach((f, i) => queries.set(f, i * dim));
        const recThreshold = task.recThreshold ?? params.recThreshold;
        const results = features.length && vectors.length ? searchHeld(index, queries, params.topk, task.efSearch) : boxes.map(() => []);
        const objects = boxes.map((box, i) => {
          const hits = results[i]!;
          // PaddleX drops all of an object's results when its best score is below rec_threshold
          return { bbox: box.coordinate, score: box.score, hits: hits.length && hits[0]!.score >= recThreshold ? hits : [] };
        });
        if (!task.visualize) return { objects };
        const drawn = objects.map((o, i) => {
          const best = o.hits[0];
          return { bbox: o.bbox, categoryId: i, categoryName: best ? labels[best.row]! : '', score: best ? best.score : o.score };
        });
        return { objects, image: await drawDetections(img, drawn) };
      },
    };
  });
}

export type RecognitionOps = OpsOf<ReturnType<typeof recognitionWorker>>;
