/**
 * Recognition indexes (PaddleX's `IndexData`): labelled feature vectors with integer ids, and our
 * versioned binary format for them (docs/index-format.md). No pickle, no faiss: the vectors are a
 * flat matrix, searched exactly by inner product (`Flat`, src/ops/vectorSearch.ts, what PaddleX's
 * serving builds) or through an HNSW graph built from them (`HNSW32`, src/ops/hnswSearch.ts).
 */
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { ApiError } from '../errors.js';

/**
 * PaddleX's index types (FaissBuilder): `Flat` (exact) and `HNSW32` (approximate: faiss'
 * IndexHNSWFlat with 32 links per node). PaddleX's `IVF` is not offered.
 */
export const INDEX_TYPES = ['Flat', 'HNSW32'] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

/**
 * faiss' `HNSW32` (PaddleX's FaissBuilder passes the string to index_factory): 32 links per node,
 * faiss' defaults efConstruction 40 and efSearch 16.
 */
export const HNSW32 = { links: 32, efConstruction: 40, efSearch: 16 };

/** Entries in ascending id order; `vectors` holds one row of `dim` floats per id. */
export interface IndexData {
  indexType: IndexType;
  dim: number;
  ids: number[];
  labels: string[];
  vectors: Float32Array;
}

/** Vectors to add, with their labels (ids are assigned by the index). */
export interface NewEntries {
  dim: number;
  labels: string[];
  vectors: Float32Array;
}

export const FORMAT_MAGIC = 'PSVINDEX';
/** 2 added `indexType: "HNSW32"`; version 1 files are all `Flat` and still read. */
export const FORMAT_VERSION = 2;

/** Something is wrong with stored index bytes; `where` names the file or key. */
export class IndexFormatError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'IndexFormatError';
  }
}

/** PaddleX's id rule: new ids continue from the largest id present + 1 (0 for an empty index). */
export function nextId(ids: readonly number[]): number {
  return ids.length ? ids[ids.length - 1]! + 1 : 0;
}

export function checkDim(indexDim: number, featureDim: number): void {
  if (indexDim !== featureDim) {
    throw new ApiError(500, `feature size ${featureDim} does not match the index's ${indexDim} (the index was built with another model)`);
  }
}

/** An index as read at one revision (inference instances cache it by `revision`). */
export interface IndexSnapshot extends IndexData {
  revision: string;
}

/** One kind of index storage (see indexStorage.ts). */
export interface IndexBackend {
  open(): Promise<void>;
  close(): Promise<void>;
  create(key: string, data: IndexData): Promise<void>;
  /** Adds under the next free ids; returns the entry count afterwards. */
  add(key: string, entries: NewEntries): Promise<number>;
  remove(key: string, ids: readonly number[]): Promise<number>;
  /** A token that changes whenever the index does (cheap: no vectors read). */
  revision(key: string): Promise<string>;
  load(key: string): Promise<IndexSnapshot>;
}

/** PaddleX answers a missing index with a 500; so do we, saying which key. */
export function unknownIndex(key: string): ApiError {
  return new ApiError(
    500,
    `indexKey "${key}" names no index in the index storage (build one first; keys are returned by the index-build endpoint)`,
  );
}

export function newIndex(entries: NewEntries, indexType: IndexType): IndexData {
  return {
    indexType,
    dim: entries.dim,
    ids: entries.labels.map((_, i) => i),
    labels: [...entries.labels],
    vectors: entries.vectors.slice(),
  };
}

export function withAdded(data: IndexData, entries: NewEntries): IndexData {
  checkDim(data.dim, entries.dim);
  const start = nextId(data.ids);
  const vectors = new Float32Array(data.vectors.length + entries.vectors.length);
  vectors.set(data.vectors);
  vectors.set(entries.vectors, data.vectors.length);
  return {
    indexType: data.indexType,
    dim: data.dim,
    ids: [...data.ids, ...entries.labels.map((_, i) => start + i)],
    labels: [...data.labels, ...entries.labels],
    vectors,
  };
}

/** Unknown ids are ignored, as faiss' remove_ids does. */
export function withRemoved(data: IndexData, ids: readonly number[]): IndexData {
  const removed = new Set(ids);
  const keep = data.ids.flatMap((id, row) => (removed.has(id) ? [] : [row]));
  const vectors = new Float32Array(keep.length * data.dim);
  keep.forEach((row, i) => vectors.set(data.vectors.subarray(row * data.dim, (row + 1) * data.dim), i * data.dim));
  return {
    indexType: data.indexType,
    dim: data.dim,
    ids: keep.map((r) => data.ids[r]!),
    labels: keep.map((r) => data.labels[r]!),
    vectors,
  };
}

const headerSchema = z.strictObject({
  metric: z.literal('IP'),
  indexType: z.enum(INDEX_TYPES),
  dim: z.number().int().positive(),
  ids: z.array(z.number().int().min(0)),
  labels: z.array(z.string()),
});

const PREFIX_BYTES = 16; // magic (8) + version (4) + header length (4)

/** The whole index as one file (format version 2, see docs/index-format.md). */
export function encodeIndex(data: IndexData): Buffer {
  const header = Buffer.from(
    JSON.stringify({ metric: 'IP', indexType: data.indexType, dim: data.dim, ids: data.ids, labels: data.labels }),
  );
  const vectorsAt = align4(PREFIX_BYTES + header.length);
  const out = Buffer.alloc(vectorsAt + data.vectors.byteLength + 4);
  out.write(FORMAT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(FORMAT_VERSION, 8);
  out.writeUInt32LE(header.length, 12);
  header.copy(out, PREFIX_BYTES);
  Buffer.from(data.vectors.buffer, data.vectors.byteOffset, data.vectors.byteLength).copy(out, vectorsAt);
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

/**
 * Reads `encodeIndex` bytes. Refuses anything else with the reason: not an index, a newer format,
 * truncated or altered bytes (CRC-32), inconsistent header. The vectors are copied into a fresh array.
 */
export function decodeIndex(bytes: Uint8Array, where: string): IndexData {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX_BYTES + 4 || buf.toString('latin1', 0, 8) !== FORMAT_MAGIC) {
    throw new IndexFormatError(where, `not a pipeserve index (no ${FORMAT_MAGIC} signature)`);
  }
  const version = buf.readUInt32LE(8);
  if (version > FORMAT_VERSION) {
    throw new IndexFormatError(
      where,
      `index format version ${version} is newer than this pipeserve reads (up to ${FORMAT_VERSION}); upgrade pipeserve`,
    );
  }
  if (version < 1) throw new IndexFormatError(where, `corrupt index (format version ${version})`);
  if (buf.readUInt32LE(buf.length - 4) !== crc32(buf.subarray(0, buf.length - 4))) {
    throw new IndexFormatError(where, 'corrupt index (CRC-32 mismatch: the file is truncated or altered)');
  }
  const headerLength = buf.readUInt32LE(12);
  const vectorsAt = align4(PREFIX_BYTES + headerLength);
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (err) {
    throw new IndexFormatError(where, `corrupt index header (${(err as Error).message.split('\n')[0]})`);
  }
  if (version === 1 && header.indexType !== 'Flat')
    throw new IndexFormatError(where, 'corrupt index (format version 1 holds Flat indexes only)');
  const count = header.ids.length;
  const vectorBytes = buf.length - 4 - vectorsAt;
  if (header.labels.length !== count || vectorBytes !== count * header.dim * 4) {
    throw new IndexFormatError(
      where,
      `corrupt index (${count} ids, ${header.labels.length} labels, ${vectorBytes} bytes of vectors at dim ${header.dim})`,
    );
  }
  if (header.ids.some((id, i) => i > 0 && id <= header.ids[i - 1]!)) throw new IndexFormatError(where, 'corrupt index (ids not ascending)');
  const vectors = new Float32Array(count * header.dim);
  Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength).set(buf.subarray(vectorsAt, vectorsAt + vectorBytes));
  return { indexType: header.indexType, dim: header.dim, ids: header.ids, labels: header.labels, vectors };
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
