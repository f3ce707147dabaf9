import type { DataStore, StoreEntries } from '../store.js';
import type { EpochCommit, EpochCommitter } from '../epoch-commit.js';
import { StoreError } from '../store-error.js';
import { decodeValue, encodeEntries, encodeValue } from '../json-value.js';
import type { RedisBatch, RedisClient } from './redis-client.js';

/** Configuration of a {@link RedisStore}. */
export interface RedisStoreConfig {
  /** Instance name from the flow's store catalogue. */
  name: string;
  /** A connected client (see `connectRedis`); the store quits it on `close()`. */
  client: RedisClient;
  /** Prefix of every Redis key this store touches; default `warmflow:`. */
  keyPrefix?: string;
  /** Fields per HMGET/HSET/RPUSH command and per HSCAN/LRANGE page; default 1000. */
  chunkSize?: number;
}

/**
 * A data store in Redis. A namespace is one hash, `<prefix>kv:<namespace>`; a table is
 * one list, `<prefix>rows:<table>`. The fixed `kv:`/`rows:` infixes keep namespaces
 * and tables apart, and since a namespace is the whole rest of the key, two namespaces
 * can never share a key. `getMany` is one HMGET (chunks pipelined), `putMany` one
 * MULTI of HSET/HDEL commands (atomic), `append` one MULTI of RPUSHes.
 *
 * ```ts
 * const store = new RedisStore({ name: 'cache', client: await connectRedis('redis://127.0.0.1:6379') });
 * ```
 */
export class RedisStore implements DataStore, EpochCommitter {
  readonly kind = 'redis' as const;
  readonly #config: Readonly<Required<RedisStoreConfig>>;
  #closed = false;

  constructor(config: RedisStoreConfig) {
    this.#config = Object.freeze({ keyPrefix: 'warmflow:', chunkSize: 1000, ...config });
  }

  get name(): string {
    return this.#config.name;
  }

  async get(namespace: string, key: string): Promise<unknown> {
    const text = await this.#call('get', (c) => c.hget(this.#kv(namespace), key));
    return decodeValue(text);
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
    if (keys.length === 0) return [];
    const hash = this.#kv(namespace);
    const chunks = this.#chunks(keys);
    const replies = await this.#exec('getMany', (c) => {
      const batch = c.pipeline();
      for (const chunk of chunks) batch.hmget(hash, ...chunk);
      return batch;
    });
    return replies.flatMap((reply) => (reply as Array<string | null>).map(decodeValue));
  }

  async put(namespace: string, key: string, value: unknown): Promise<void> {
    await this.putMany(namespace, [[key, value]]);
  }

  async putMany(namespace: string, entries: StoreEntries): Promise<void> {
    this.#open();
    const { sets, deletes } = this.#encode(namespace, entries);
    if (sets.length === 0 && deletes.length === 0) return;
    const hash = this.#kv(namespace);
    await this.#exec('putMany', (c) => {
      const batch = c.multi();
      for (const chunk of this.#chunks(sets, 2)) batch.hset(hash, ...chunk);
      for (const chunk of this.#chunks(deletes)) batch.hdel(hash, ...chunk);
      return batch;
    });
  }

  /**
   * One Lua script per epoch: Redis runs a script as one unit (no other command in between,
   * and replicas and the AOF get its effects together), so the marker check, the writes and
   * the new marker are all or nothing.
   */
  async commitEpoch(commit: EpochCommit): Promise<boolean> {
    this.#open();
    const args: Array<string | number> = [commit.epoch];
    for (const { namespace, entries } of commit.puts) {
      const { sets, deletes } = this.#encode(namespace, entries);
      const hash = this.#kv(namespace);
      if (sets.length > 0) args.push('H', hash, sets.length / 2, ...sets);
      if (deletes.length > 0) args.push('D', hash, deletes.length, ...deletes);
    }
    for (const { table, records } of commit.appends) {
      const values = records.map(
        (r, i) => encodeValue(this, `record ${i} of table "${table}"`, r) ?? 'null',
      );
      if (values.length > 0) args.push('R', this.#rows(table), values.length, ...values);
    }
    const written = await this.#call('commitEpoch', (c) =>
      c.eval(COMMIT_EPOCH_SCRIPT, 1, this.#epochKey(commit.writer), ...args),
    );
    return written === 1;
  }

  /** An HSET argument list (key, text, key, text...) and the keys to delete. */
  #encode(namespace: string, entries: StoreEntries): { sets: string[]; deletes: string[] } {
    const { keys, texts, deletes } = encodeEntries(this, namespace, entries);
    return { sets: keys.flatMap((key, i) => [key, texts[i]]), deletes };
  }

  async committedEpoch(writer: string): Promise<number> {
    const text = await this.#call('committedEpoch', (c) => c.get(this.#epochKey(writer)));
    return text === null ? -1 : Number(text);
  }

  async delete(namespace: string, key: string): Promise<void> {
    await this.#call('delete', (c) => c.hdel(this.#kv(namespace), key));
  }

  async *entries(namespace: string): AsyncIterable<[string, unknown]> {
    const hash = this.#kv(namespace);
    // HSCAN may return a field twice while the hash is rehashed; report each once.
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#call('entries', (c) =>
        c.hscan(hash, cursor, 'COUNT', this.#config.chunkSize),
      );
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        const key = flat[i];
        if (seen.has(key)) continue;
        seen.add(key);
        yield [key, decodeValue(flat[i + 1])];
      }
    } while (cursor !== '0');
  }

  async count(namespace: string): Promise<number> {
    return this.#call('count', (c) => c.hlen(this.#kv(namespace)));
  }

  async append(table: string, records: readonly unknown[]): Promise<void> {
    this.#open();
    const values = records.map(
      (r, i) => encodeValue(this, `record ${i} of table "${table}"`, r) ?? 'null',
    );
    if (values.length === 0) return;
    const list = this.#rows(table);
    await this.#exec('append', (c) => {
      const batch = c.multi();
      for (const chunk of this.#chunks(values)) batch.rpush(list, ...chunk);
      return batch;
    });
  }

  async *readAll(table: string): AsyncIterable<unknown> {
    const list = this.#rows(table);
    const size = this.#config.chunkSize;
    for (let start = 0; ; start += size) {
      const page = await this.#call('readAll', (c) => c.lrange(list, start, start + size - 1));
      for (const text of page) yield decodeValue(text);
      if (page.length < size) return;
    }
  }

  async drop(name: string): Promise<void> {
    await this.#call('drop', (c) => c.del(this.#kv(name), this.#rows(name)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#config.client.quit();
  }

  #kv(namespace: string): string {
    return `${this.#config.keyPrefix}kv:${namespace}`;
  }

  #epochKey(writer: string): string {
    return `${this.#config.keyPrefix}epoch:${writer}`;
  }

  #rows(table: string): string {
    return `${this.#config.keyPrefix}rows:${table}`;
  }

  /** Splits into command-sized chunks; `stride` keeps field/value pairs together. */
  #chunks<T>(items: readonly T[], stride = 1): T[][] {
    const size = this.#config.chunkSize * stride;
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
  }

  #open(): void {
    if (this.#closed) throw new StoreError('E_STORE_CLOSED', this, 'used after close()');
  }

  async #call<T>(op: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    this.#open();
    try {
      return await fn(this.#config.client);
    } catch (cause) {
      throw new StoreError('E_STORE', this, `${op} failed: ${(cause as Error).message}`, { cause });
    }
  }

  async #exec(op: string, build: (client: RedisClient) => RedisBatch): Promise<unknown[]> {
    const replies = await this.#call(op, (c) => build(c).exec());
    if (replies === null)
      throw new StoreError('E_STORE', this, `${op} failed: transaction aborted`);
    return replies.map(([error, result]) => {
      if (error !== null)
        throw new StoreError('E_STORE', this, `${op} failed: ${error.message}`, { cause: error });
      return result;
    });
  }
}

/**
 * KEYS[1]: the writer's marker; ARGV[1]: the epoch, then groups of `op key n values…`
 * (`H` n field/value pairs for HSET, `D` n fields for HDEL, `R` n values for RPUSH).
 * Answers 0 without writing when the marker is already at the epoch or past it.
 */
const COMMIT_EPOCH_SCRIPT = `
local at = tonumber(redis.call('GET', KEYS[1]) or '-1')
local epoch = tonumber(ARGV[1])
if at >= epoch then return 0 end
local i = 2
while i <= #ARGV do
  local op, key, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  if op == 'H' then
    for j = 0, n - 1, 500 do
      local last = math.min(n - 1, j + 499)
      local args = {}
      for k = j, last do
        args[#args + 1] = ARGV[i + 2 * k]
        args[#args + 1] = ARGV[i + 2 * k + 1]
      end
      redis.call('HSET', key, unpack(args))
    end
    i = i + 2 * n
  else
    for j = 0, n - 1, 1000 do
      local last = math.min(n - 1, j + 999)
      redis.call(op == 'D' and 'HDEL' or 'RPUSH', key, unpack(ARGV, i + j, i + last))
    end
    i = i + n
  end
end
redis.call('SET', KEYS[1], epoch)
return 1
`;
