import { AppendOnlyStore } from '../append-only-store.js';
import type { EpochCommit, EpochCommitter } from '../epoch-commit.js';
import { StoreError } from '../store-error.js';
import { connectRedisCommands, type RedisCommands } from '../../sources/redis/redis-source.js';

/** Raw commands plus a pipeline of them (what an ioredis client provides). */
interface PipelinedCommands extends RedisCommands {
  pipeline(): {
    call(...args: Array<string | number>): unknown;
    exec(): Promise<Array<[Error | null, unknown]> | null>;
  };
}

/** Configuration of a {@link RedisStreamStore}. */
export interface RedisStreamStoreConfig {
  name: string;
  /** Put before every stream key (a server's per-tenant namespace). */
  prefix?: string;
  /** `redis://HOST:PORT/DB`. */
  url: string;
  /** A server's relay socket to the instance (see StoreForwarders), used instead of the URL's host. */
  socket?: string;
  /** Stream key a type is appended to; `{type}` is replaced by the type's name. Default `{type}`. */
  stream?: string;
  /** Keep about this many entries per stream (`XADD … MAXLEN ~ N`); default unbounded. */
  maxlen?: number;
}

/**
 * A sink that appends every record of table `<T>` to a Redis Stream (`stream`, default the
 * type's name) as one entry with a single `data` field holding the record's JSON — the form
 * the `redis://` source reads back as the record. One pipeline of `XADD`s per append; with
 * `maxlen`, `MAXLEN ~ N` trims old entries.
 */
export class RedisStreamStore extends AppendOnlyStore implements EpochCommitter {
  readonly kind = 'redis-stream' as const;
  readonly name: string;
  readonly #config: Readonly<RedisStreamStoreConfig>;
  readonly #client: PipelinedCommands;

  private constructor(config: RedisStreamStoreConfig, client: RedisCommands) {
    super();
    this.name = config.name;
    this.#config = Object.freeze({ ...config });
    this.#client = client as PipelinedCommands;
  }

  /** Connects and returns the store. */
  static async open(config: RedisStreamStoreConfig): Promise<RedisStreamStore> {
    return new RedisStreamStore(
      config,
      await connectRedisCommands(config.url, `store "${config.name}"`, config.socket),
    );
  }

  /** The stream key records of type `table` go to. */
  keyFor(table: string): string {
    return (
      (this.#config.prefix ?? '') + (this.#config.stream ?? '{type}').replaceAll('{type}', table)
    );
  }

  async append(table: string, records: readonly unknown[]): Promise<void> {
    if (records.length === 0) return;
    const key = this.keyFor(table);
    const trim = this.#config.maxlen === undefined ? [] : ['MAXLEN', '~', this.#config.maxlen];
    const pipeline = this.#client.pipeline();
    for (const record of records)
      pipeline.call('XADD', key, ...trim, '*', 'data', JSON.stringify(record));
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (results === null || failed) {
      throw new StoreError(
        'E_STORE',
        this,
        `XADD to "${key}" failed: ${failed?.message ?? 'transaction aborted'}`,
        {
          cause: failed,
          hint: `is "${key}" a stream (not another type of key)?`,
        },
      );
    }
  }

  /**
   * One Lua script per epoch and stream: the writer's marker (`<stream>:warmflow-epoch:<writer>`)
   * is checked and moved with the `XADD`s, as one unit. Entry ids stay the server's (`*`):
   * ids made from the epoch would be refused once another producer wrote a later id.
   */
  async commitEpoch(commit: EpochCommit): Promise<boolean> {
    let written = false;
    for (const { table, records } of commit.appends) {
      const key = this.keyFor(table);
      const answer = await this.#client
        .call(
          'EVAL',
          XADD_EPOCH_SCRIPT,
          2,
          key,
          `${key}:warmflow-epoch:${commit.writer}`,
          commit.epoch,
          this.#config.maxlen ?? 0,
          ...records.map((r) => JSON.stringify(r)),
        )
        .catch((cause: unknown) => {
          throw new StoreError(
            'E_STORE',
            this,
            `XADD to "${key}" failed: ${(cause as Error).message}`,
            {
              cause,
              hint: `is "${key}" a stream (not another type of key)?`,
            },
          );
        });
      if (answer === 1) written = true;
    }
    return written;
  }

  /** Markers are per stream; there is no one answer per writer. */
  committedEpoch(): Promise<number> {
    return Promise.resolve(-1);
  }

  async *readAll(table: string): AsyncIterable<unknown> {
    const key = this.keyFor(table);
    let from = '-';
    for (;;) {
      const page = (await this.#client.call('XRANGE', key, from, '+', 'COUNT', 1000)) as Array<
        [string, string[]]
      >;
      for (const [, fields] of page) yield fields[0] === 'data' ? JSON.parse(fields[1]) : fields;
      if (page.length < 1000) return;
      from = '(' + page[page.length - 1][0];
    }
  }

  async drop(name: string): Promise<void> {
    await this.#client.call('DEL', this.keyFor(name));
  }

  async close(): Promise<void> {
    await this.#client.quit();
  }
}

/** KEYS: stream, marker; ARGV: epoch, maxlen (0: none), records' JSON. 0 when already written. */
const XADD_EPOCH_SCRIPT = `
local at = tonumber(redis.call('GET', KEYS[2]) or '-1')
local epoch = tonumber(ARGV[1])
if at >= epoch then return 0 end
local maxlen = tonumber(ARGV[2])
for i = 3, #ARGV do
  if maxlen > 0 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'data', ARGV[i])
  else
    redis.call('XADD', KEYS[1], '*', 'data', ARGV[i])
  end
end
redis.call('SET', KEYS[2], epoch)
return 1
`;
