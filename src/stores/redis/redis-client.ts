/**
 * The part of an ioredis client the Redis store uses. Typing against this subset keeps
 * ioredis optional and lets tests substitute a fake; an ioredis `Redis` provides it.
 */
export interface RedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hlen(key: string): Promise<number>;
  hscan(
    key: string,
    cursor: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[string, string[]]>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  del(...keys: string[]): Promise<number>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  get(key: string): Promise<string | null>;
  /** Runs a Lua script atomically (nothing else runs on the server meanwhile). */
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  /** A MULTI/EXEC transaction: queued commands are sent in one write and applied atomically. */
  multi(): RedisBatch;
  /** A pipeline: queued commands are sent in one write, not atomically. */
  pipeline(): RedisBatch;
  quit(): Promise<unknown>;
}

/** Commands queued on a pipeline or transaction; `exec` answers `[error, result]` per command. */
export interface RedisBatch {
  hmget(key: string, ...fields: string[]): RedisBatch;
  hset(key: string, ...fieldsAndValues: string[]): RedisBatch;
  hdel(key: string, ...fields: string[]): RedisBatch;
  rpush(key: string, ...values: string[]): RedisBatch;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/**
 * Connects an ioredis client to `url` (through `socket` instead of the URL's host and port
 * when given) and waits until it is ready, so a wrong URL fails
 * here with a clear error instead of queueing commands forever.
 */
export async function connectRedis(url: string, socket?: string): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  const options = {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
  };
  // Through a unix socket (a server's relay to a granted instance): the relay logs in and picks
  // the database; the client sends neither AUTH nor SELECT (the relay refuses both) nor INFO.
  const client =
    socket === undefined
      ? new Redis(url, options)
      : new Redis({ ...options, path: socket, enableReadyCheck: false });
  // Listening before connecting: ioredis reports an unheard error on stderr. Once
  // connected, a dropped connection is retried; commands meanwhile fail after
  // maxRetriesPerRequest, and the store wraps that failure.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw lastError ?? error;
  }
  return client;
}
