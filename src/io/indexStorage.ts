/**
 * Where recognition indexes live between requests: PaddleX's `Serving.extra.index_storage`
 * (`file_system`, default directory `.index`; `memory`) plus `redis`, a store several servers share.
 * Every backend makes adds and removes on one index atomic, so concurrent requests never lose an
 * entry: a per-index serial queue (memory, file system; one server per directory) or a Lua script
 * (Redis, any number of servers).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ApiError, ConfigError } from '../errors.js';
import {
  decodeIndex,
  encodeIndex,
  type IndexBackend,
  IndexFormatError,
  type IndexData,
  type IndexSnapshot,
  type IndexType,
  newIndex,
  type NewEntries,
  unknownIndex,
  withAdded,
  withRemoved,
} from './vectorIndex.js';

export const indexStorageSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('file_system'), directory: z.string().min(1).default('.index') }),
    z.strictObject({ type: z.literal('memory') }),
    z.strictObject({
      type: z.literal('redis'),
      url: z.string().default('redis://127.0.0.1:6379'),
      key_prefix: z.string().default('pipeserve:index:'),
    }),
  ])
  .default({ type: 'file_system', directory: '.index' });

export type IndexStorageConfig = z.output<typeof indexStorageSchema>;

/** Problems with stored bytes reach the client as a 500 that says what is wrong. */
function storedIndexError(err: unknown): never {
  if (err instanceof IndexFormatError) throw new ApiError(500, err.message);
  throw err;
}

/** Keys we hand out are uuid4s; anything outside this alphabet cannot name an index (and never a path). */
const KEY_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

function checkedKey(key: string): string {
  if (!KEY_PATTERN.test(key)) throw unknownIndex(key);
  return key;
}

/** Runs tasks one at a time per key, in arrival order. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

function toSnapshot(data: IndexData, revision: string): IndexSnapshot {
  const vectors = new Float32Array(data.vectors.length);
  vectors.set(data.vectors);
  return { ...data, vectors, revision };
}

/**
 * Backends that change an index by reading it, changing it and saving it whole: changes to one
 * index run one at a time, in arrival order, so none is lost.
 */
abstract class ReadModifyWriteBackend implements IndexBackend {
  private readonly queue = new KeyedQueue();

  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract revision(key: string): Promise<string>;
  abstract load(key: string): Promise<IndexSnapshot>;
  protected abstract save(key: string, data: IndexData): Promise<void>;

  create(key: string, data: IndexData): Promise<void> {
    return this.queue.run(key, () => this.save(key, data));
  }

  private update(key: string, change: (data: IndexData) => IndexData): Promise<number> {
    return this.queue.run(key, async () => {
      const next = change(await this.load(key));
      await this.save(key, next);
      return next.ids.length;
    });
  }

  add(key: string, entries: NewEntries): Promise<number> {
    return this.update(key, (data) => withAdded(data, entries));
  }

  remove(key: string, ids: readonly number[]): Promise<number> {
    return this.update(key, (data) => withRemoved(data, ids));
  }
}

class MemoryBackend extends ReadModifyWriteBackend {
  private readonly indexes = new Map<string, IndexSnapshot>();
  private counter = 0;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  protected async save(key: string, data: IndexData): Promise<void> {
    this.indexes.set(key, toSnapshot(data, String(++this.counter)));
  }

  async revision(key: string): Promise<string> {
    return (await this.load(key)).revision;
  }

  async load(key: string): Promise<IndexSnapshot> {
    const found = this.indexes.get(key);
    if (!found) throw unknownIndex(key);
    return found;
  }
}

/** One file per index, `<directory>/<indexKey>`, replaced atomically (write to a temp file, rename). */
class FileSystemBackend extends ReadModifyWriteBackend {
  constructor(private readonly directory: string) {
    super();
  }

  async open(): Promise<void> {
    // PaddleX: mkdir(exist_ok=True) without parents, so a missing parent stops startup.
    try {
      await mkdir(this.directory);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(this.directory)).isDirectory()) return;
      throw new ConfigError(`Serving.extra.index_storage.directory "${this.directory}": cannot create it (${(err as Error).message})`);
    }
  }

  async close(): Promise<void> {}

  private file(key: string): string {
    return path.join(this.directory, checkedKey(key));
  }

  protected async save(key: string, data: IndexData): Promise<void> {
    const tmp = path.join(this.directory, `.${checkedKey(key)}.${randomUUID()}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(encodeIndex(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file(key)).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
  }

  async revision(key: string): Promise<string> {
    const info = await stat(this.file(key)).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? unknownIndex(key) : err;
    });
    return fileRevision(info);
  }

  async load(key: string): Promise<IndexSnapshot> {
    // Read through one descriptor: a concurrent rename replaces the path, not the file being read.
    const handle = await open(this.file(key), 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? unknownIndex(key) : err;
    });
    try {
      const revision = fileRevision(await handle.stat());
      const data = decodeIndex(await handle.readFile(), `index file ${this.file(key)}`);
      return { ...data, revision };
    } finally {
      await handle.close();
    }
  }
}

function fileRevision(info: { ino: number; mtimeMs: number; size: number }): string {
  return `${info.ino}:${info.mtimeMs}:${info.size}`;
}

/**
 * The index storage of one pipeline, with a cache of the last snapshot read per key: an infer
 * request re-reads an index only when its revision changed (another request or another server
 * changed it).
 */
export class IndexStore {
  /** most recently used last; bounded so serving many indexes does not keep them all in memory */
  private readonly cache = new Map<string, IndexSnapshot>();
  static readonly CACHED_INDEXES = 16;

  constructor(private readonly backend: IndexBackend) {}

  static async fromConfig(config: IndexStorageConfig): Promise<IndexStore> {
    switch (config.type) {
      case 'memory':
        return new IndexStore(new MemoryBackend());
      case 'file_system':
        return new IndexStore(new FileSystemBackend(config.directory));
      case 'redis': {
        // loaded only when configured: the client is not needed otherwise
        const { RedisBackend } = await import('./redisIndexStorage.js');
        return new IndexStore(new RedisBackend(config.url, config.key_prefix));
      }
    }
  }

  open(): Promise<void> {
    return this.backend.open();
  }

  close(): Promise<void> {
    this.cache.clear();
    return this.backend.close();
  }

  /** Stores a new index under a fresh key (a uuid4, as PaddleX's generate_index_key) and returns it. */
  async create(entries: NewEntries, indexType: IndexType): Promise<{ key: string; count: number }> {
    const key = randomUUID();
    const data = newIndex(entries, indexType);
    await this.backend.create(key, data);
    return { key, count: data.ids.length };
  }

  add(key: string, entries: NewEntries): Promise<number> {
    return this.backend.add(checkedKey(key), entries).catch(storedIndexError);
  }

  remove(key: string, ids: readonly number[]): Promise<number> {
    return this.backend.remove(checkedKey(key), ids).catch(storedIndexError);
  }

  /** Fails as a missing index does when `key` names none (reads no vectors). */
  async check(key: string): Promise<void> {
    await this.backend.revision(checkedKey(key));
  }

  /** The index as it is now, from the cache when its revision is unchanged. */
  async snapshot(key: string): Promise<IndexSnapshot> {
    checkedKey(key);
    const cached = this.cache.get(key);
    const current =
      cached && cached.revision === (await this.backend.revision(key)) ? cached : await this.backend.load(key).catch(storedIndexError);
    this.cache.delete(key);
    this.cache.set(key, current);
    if (this.cache.size > IndexStore.CACHED_INDEXES) this.cache.delete(this.cache.keys().next().value!);
    return current;
  }
}

/** Reads an index file at startup (YAML `index`): a bad file stops the server with the reason. */
export async function readIndexFile(file: string, keyPath: string): Promise<IndexSnapshot> {
  const handle = await open(file, 'r').catch((err: Error) => {
    throw new ConfigError(`${keyPath}: cannot read index file ${file} (${err.message})`);
  });
  try {
    return { ...decodeIndex(await handle.readFile(), `${keyPath}: ${file}`), revision: 'startup' };
  } catch (err) {
    if (err instanceof IndexFormatError) throw new ConfigError(err.message);
    throw err;
  } finally {
    await handle.close();
  }
}
