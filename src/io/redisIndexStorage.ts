/**
 * Indexes in Redis, shared by every server pointed at it. Each index is three keys:
 *   <prefix><key>:meta     hash {format, dim, index_type, revision}
 *   <prefix><key>:ids      sorted set of ids (score = id), for PaddleX's "next id = largest + 1"
 *   <prefix><key>:entries  hash id → entry (u32 LE label length, UTF-8 label, dim float32 LE)
 * Create, add and remove are Lua scripts, so each is atomic across servers: concurrent adds get
 * distinct ids and no entry is lost. A snapshot reads meta and entries in one MULTI.
 */
import { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import {
  checkDim,
  FORMAT_VERSION,
  type IndexBackend,
  type IndexData,
  IndexFormatError,
  type IndexSnapshot,
  INDEX_TYPES,
  type IndexType,
  type NewEntries,
  unknownIndex,
} from './vectorIndex.js';

const CREATE = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'format', ARGV[1], 'dim', ARGV[2], 'index_type', ARGV[3], 'revision', 1)
for i = 4, #ARGV do
  local id = i - 4
  redis.call('ZADD', KEYS[2], id, id)
  redis.call('HSET', KEYS[3], id, ARGV[i])
end
return #ARGV - 3`;

const ADD = `
local dim = redis.call('HGET', KEYS[1], 'dim')
if not dim then return redis.error_reply('NOINDEX') end
if dim ~= ARGV[1] then return redis.error_reply('DIM ' .. dim) end
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local start = 0
if #top > 0 then start = tonumber(top[2]) + 1 end
for i = 2, #ARGV do
  local id = start + i - 2
  redis.call('ZADD', KEYS[2], id, id)
  redis.call('HSET', KEYS[3], id, ARGV[i])
end
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return redis.call('ZCARD', KEYS[2])`;

const REMOVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOINDEX') end
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return redis.call('ZCARD', KEYS[2])`;

function encodeEntry(label: string, vector: Float32Array): Buffer {
  const text = Buffer.from(label);
  const out = Buffer.alloc(4 + text.length + vector.byteLength);
  out.writeUInt32LE(text.length, 0);
  text.copy(out, 4);
  Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(out, 4 + text.length);
  return out;
}

function entryBlobs(entries: NewEntries): Buffer[] {
  return entries.labels.map((label, i) => encodeEntry(label, entries.vectors.subarray(i * entries.dim, (i + 1) * entries.dim)));
}

export class RedisBackend implements IndexBackend {
  private readonly redis: Redis;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
    // errors surface on the commands that fail; without a listener ioredis would also print them
    this.redis.on('error', () => {});
  }

  async open(): Promise<void> {
    try {
      await this.redis.connect();
      await this.redis.ping();
    } catch (err) {
      this.redis.disconnect();
      throw new ConfigError(`Serving.extra.index_storage: cannot reach Redis at ${this.url} (${(err as Error).message})`);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private keys(key: string): [string, string, string] {
    const base = `${this.prefix}${key}`;
    return [`${base}:meta`, `${base}:ids`, `${base}:entries`];
  }

  private async script(source: string, key: string, args: Array<string | Buffer>): Promise<number> {
    try {
      return Number(await this.redis.eval(source, 3, ...this.keys(key), ...args));
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith('NOINDEX')) throw unknownIndex(key);
      if (message.startsWith('DIM ')) checkDim(Number(message.slice(4)), Number(args[0]));
      throw err;
    }
  }

  async create(key: string, data: IndexData): Promise<void> {
    await this.script(CREATE, key, [String(FORMAT_VERSION), String(data.dim), data.indexType, ...entryBlobs(data)]);
  }

  add(key: string, entries: NewEntries): Promise<number> {
    return this.script(ADD, key, [String(entries.dim), ...entryBlobs(entries)]);
  }

  remove(key: string, ids: readonly number[]): Promise<number> {
    return this.script(REMOVE, key, ids.map(String));
  }

  async revision(key: string): Promise<string> {
    const revision = await this.redis.hget(this.keys(key)[0], 'revision');
    if (revision === null) throw unknownIndex(key);
    return revision;
  }

  async load(key: string): Promise<IndexSnapshot> {
    const [metaKey, , entriesKey] = this.keys(key);
    const replies = await this.redis.multi().hgetall(metaKey).hgetallBuffer(entriesKey).exec();
    const [metaReply, entriesReply] = replies ?? [];
    if (metaReply?.[0] || entriesReply?.[0]) throw metaReply?.[0] ?? entriesReply?.[0];
    const meta = metaReply?.[1] as Record<string, string>;
    if (!meta?.revision) throw unknownIndex(key);
    const where = `Redis index ${metaKey}`;
    const format = Number(meta.format);
    if (format > FORMAT_VERSION) {
      throw new IndexFormatError(
        where,
        `index format version ${format} is newer than this pipeserve reads (up to ${FORMAT_VERSION}); upgrade pipeserve`,
      );
    }
    const dim = Number(meta.dim);
    // format 1 wrote no index_type: those indexes are all Flat
    const indexType = meta.index_type ?? 'Flat';
    if (!(INDEX_TYPES as readonly string[]).includes(indexType)) throw new IndexFormatError(where, `unknown index_type ${indexType}`);
    const entries = entriesReply?.[1] as Record<string, Buffer>;
    const ids = Object.keys(entries)
      .map(Number)
      .sort((a, b) => a - b);
    const vectors = new Float32Array(ids.length * dim);
    const labels = ids.map((id, row) => {
      const blob = entries[String(id)]!;
      const labelLength = blob.length >= 4 ? blob.readUInt32LE(0) : -1;
      if (labelLength < 0 || blob.length !== 4 + labelLength + dim * 4) throw new IndexFormatError(where, `corrupt entry ${id}`);
      // byte copy: the blob's vector need not be 4-byte aligned
      new Uint8Array(vectors.buffer, row * dim * 4, dim * 4).set(blob.subarray(4 + labelLength));
      return blob.toString('utf8', 4, 4 + labelLength);
    });
    return { indexType: indexType as IndexType, dim, ids, labels, vectors, revision: meta.revision };
  }
}
