/**
 * The vector store of `/chatocr-vector` and its retrieval in `/chatocr-chat`. PaddleX keeps a
 * langchain FAISS store, pickled and Base64'd after the prefix `PADDLEX_VECTOR_STORE`; unpickling
 * request data runs arbitrary code, so pipeserve's `vectorInfo.vector` is plain JSON instead
 * (docs/vector-store-format.md): the chunks and their embeddings (float32, Base64). Retrieval is
 * what PaddleX's FAISS flat L2 index computes — exact nearest neighbours, relevance
 * 1 − d²/√2 (langchain's Euclidean relevance) — so brute force, not the approximate HNSW index
 * of src/io: the stores hold hundreds of chunks, and approximate results would pick other chunks.
 */
import { z } from 'zod';
import { invalidInput } from '../../../errors.js';
import { embed, type LlmEndpoint } from './openaiClient.js';
import { pythonLen } from './pythonText.js';
import { splitText } from './textSplitter.js';

export const VECTOR_STORE_FORMAT = 'pipeserve-vector-store';
export const VECTOR_STORE_VERSION = 1;
const PADDLEX_VECTOR_STORE_PREFIX = 'PADDLEX_VECTOR_STORE';
/** PaddleX's similarity_retrieval: neighbours per key, and the relevance below which a chunk is ignored */
const RETRIEVAL_TOPK = 50;
const MIN_RELEVANCE = -0.1;

const encodedStore = z.object({
  format: z.literal(VECTOR_STORE_FORMAT),
  version: z.literal(VECTOR_STORE_VERSION),
  model_name: z.string(),
  dimensions: z.number().int().nonnegative(),
  chunks: z.array(z.string()),
  embeddings: z.string(),
});
export type EncodedVectorStore = z.infer<typeof encodedStore>;

/** `vectorInfo` as /chatocr-vector returns it (PaddleX's keys, in its order). */
export type VectorInfo =
  | { flag_save_bytes_vector: false; flag_too_short_text: true; vector: string[] }
  | { flag_save_bytes_vector: true; flag_too_short_text: false; model_name: string; block_size: number; vector: EncodedVectorStore };

interface VectorStore {
  chunks: string[];
  embeddings: Float32Array[];
}

function encode(store: VectorStore, modelName: string): EncodedVectorStore {
  const dimensions = store.embeddings[0]?.length ?? 0;
  const flat = new Float32Array(store.chunks.length * dimensions);
  store.embeddings.forEach((row, i) => flat.set(row, i * dimensions));
  // Float32Array is little-endian on every platform Node runs on
  const embeddings = Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength).toString('base64');
  return {
    format: VECTOR_STORE_FORMAT,
    version: VECTOR_STORE_VERSION,
    model_name: modelName,
    dimensions,
    chunks: store.chunks,
    embeddings,
  };
}

function decode(encoded: EncodedVectorStore): VectorStore {
  const bytes = Buffer.from(encoded.embeddings, 'base64');
  const expected = encoded.chunks.length * encoded.dimensions * 4;
  if (bytes.length !== expected) {
    throw invalidInput(
      `vectorInfo.vector.embeddings: holds ${bytes.length} bytes, but ${encoded.chunks.length} chunks × ${encoded.dimensions} dimensions need ${expected}`,
    );
  }
  const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const embeddings = encoded.chunks.map((_, i) => flat.subarray(i * encoded.dimensions, (i + 1) * encoded.dimensions));
  return { chunks: encoded.chunks, embeddings };
}

/**
 * PaddleX's build_vector after the items are made: text longer than `minCharacters` is split into
 * chunks of `blockSize` and embedded; shorter text is kept as the items themselves.
 */
export async function buildVectorInfo(
  items: string[],
  minCharacters: number,
  blockSize: number,
  retriever: LlmEndpoint,
  signal: AbortSignal,
): Promise<VectorInfo> {
  if (pythonLen(items.join('')) <= minCharacters) {
    return { flag_save_bytes_vector: false, flag_too_short_text: true, vector: items };
  }
  const chunks = splitText(items.join('\t'), blockSize);
  const embeddings = chunks.length ? await embed(retriever, chunks, signal) : [];
  return {
    flag_save_bytes_vector: true,
    flag_too_short_text: false,
    model_name: retriever.modelName,
    block_size: blockSize,
    vector: encode({ chunks, embeddings }, retriever.modelName),
  };
}

const vectorInfoSchema = z.union([
  z.looseObject({ flag_too_short_text: z.literal(true), vector: z.array(z.string()) }),
  z.looseObject({ flag_too_short_text: z.literal(false), model_name: z.string(), vector: encodedStore }),
]);

/** A client's `vectorInfo`, checked: PaddleX's pickled stores and anything not made by /chatocr-vector are refused with a 422. */
export function readVectorInfo(raw: Record<string, unknown>): z.infer<typeof vectorInfoSchema> {
  if (typeof raw.vector === 'string' && raw.vector.startsWith(PADDLEX_VECTOR_STORE_PREFIX)) {
    throw invalidInput(
      'vectorInfo: this vector store was built by PaddleX (a pickled FAISS index after the PADDLEX_VECTOR_STORE prefix). ' +
        'pipeserve never unpickles request data, as unpickling can run arbitrary code; ' +
        "build the store with this server's /chatocr-vector and pass the vectorInfo it returns.",
    );
  }
  const parsed = vectorInfoSchema.safeParse(raw);
  if (!parsed.success) {
    throw invalidInput(
      `vectorInfo: not a vector store made by /chatocr-vector (expected flag_too_short_text with a list of texts, or a ` +
        `"${VECTOR_STORE_FORMAT}" version ${VECTOR_STORE_VERSION} store; see docs/vector-store-format.md)`,
    );
  }
  return parsed.data;
}

function squaredDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return sum;
}

/**
 * PaddleX's BaseRetriever.similarity_retrieval: for each key in turn, its 50 nearest chunks from the
 * most relevant down, appended while relevance ≥ −0.1 and the text stays within `minCharacters`
 * (the first chunk that would overflow ends that key's turn; chunks may repeat across keys).
 */
export async function retrieveRelatedText(
  encoded: EncodedVectorStore,
  keys: readonly string[],
  minCharacters: number,
  retriever: LlmEndpoint,
  signal: AbortSignal,
): Promise<string> {
  const store = decode(encoded);
  if (!store.chunks.length || !keys.length) return '';
  const queries = await embed(retriever, keys, signal);
  if (queries[0]!.length !== encoded.dimensions) {
    throw invalidInput(
      `vectorInfo: the store's embeddings have ${encoded.dimensions} dimensions, the retriever's (${retriever.modelName}) ${queries[0]!.length}`,
    );
  }
  let related = '';
  let relatedLen = 0;
  for (const query of queries) {
    const nearest = store.embeddings
      .map((embedding, index) => ({ index, distance: squaredDistance(query, embedding) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, RETRIEVAL_TOPK)
      .map(({ index, distance }) => ({ text: store.chunks[index]!, score: 1 - distance / Math.SQRT2 }));
    // PaddleX sorts ascending by score (stable) and walks the list backwards
    nearest.sort((a, b) => a.score - b.score);
    for (const { text, score } of nearest.reverse()) {
      if (score < MIN_RELEVANCE) continue;
      const len = pythonLen(text);
      if (relatedLen + len > minCharacters) break;
      related += text;
      relatedLen += len;
    }
  }
  return related;
}
