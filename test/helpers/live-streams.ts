import { parseLiveItem, type LiveItem } from '../../src/sources/live/live-source.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectNats, type NatsHandle } from '../../src/sources/nats/nats-connection.js';
import { connectRedisCommands, type RedisCommands } from '../../src/sources/redis/redis-source.js';
import { SERVICES } from './services.js';

/** A name no other test (or engineer) uses at the same time. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Where the machine's nats-server writes its log (see `.ci/run`). */
const NATS_SERVER_LOG = '/var/log/nats-server.log';

/**
 * Creates a JetStream stream, retrying the one answer that is transient: the server reports a
 * store it could not create (a file-system hiccup, a busy disk) only as the fixed sentence
 * "error creating store for stream" and writes the cause to its own log. After the last try
 * the error carries the tail of that log, so a failure says why.
 */
export async function addStream(
  handle: NatsHandle,
  config: { name: string; subjects: string[] },
  attempts = 5,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await handle.jsm.streams.add(config);
      return;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/error creating store/i.test(message)) throw error;
      if (attempt >= attempts) {
        throw new Error(
          `JetStream could not create stream ${config.name} after ${attempts} tries: ${message}\n` +
            `nats-server log (tail):\n${logTail(NATS_SERVER_LOG, 20)}`,
          { cause: error },
        );
      }
      await sleep(100 * attempt);
    }
  }
}

function logTail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(not readable: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A fresh JetStream stream `name` on subjects `name.>`, deleted by `cleanup`. */
export async function natsStream(name: string): Promise<{
  handle: NatsHandle;
  url: string;
  subject: string;
  publish(record: unknown, id?: string): Promise<number>;
  publishRaw(text: string): Promise<number>;
  cleanup(): Promise<void>;
}> {
  const handle = await connectNats(SERVICES.nats.url);
  await addStream(handle, { name, subjects: [`${name}.>`] });
  const js = handle.jetstream.jetstream(handle.nc);
  const subject = `${name}.in`;
  const publishRaw = async (text: string) => (await js.publish(subject, text)).seq;
  return {
    handle,
    url: `${SERVICES.nats.url}/${name}`,
    subject,
    publishRaw,
    async publish(record, id) {
      return (
        await js.publish(subject, JSON.stringify(record), id === undefined ? {} : { msgID: id })
      ).seq;
    },
    async cleanup() {
      try {
        await handle.jsm.streams.delete(name);
      } finally {
        await handle.nc.close();
      }
    },
  };
}

/** A Redis client for a test, with the stream keys it made deleted by `cleanup`. */
export async function redisStreams(): Promise<{
  redis: RedisCommands;
  url: string;
  add(key: string, record: unknown): Promise<string>;
  cleanup(...keys: string[]): Promise<void>;
}> {
  const redis = await connectRedisCommands(SERVICES.redis.url, 'test');
  return {
    redis,
    url: SERVICES.redis.url,
    add: async (key, record) =>
      String(await redis.call('XADD', key, '*', 'data', JSON.stringify(record))),
    async cleanup(...keys) {
      if (keys.length > 0) await redis.call('DEL', ...keys);
      await redis.quit();
    },
  };
}

/** Calls `each(i)` at `perSecond` for `count` calls, on the clock (not drifting with slow calls). */
export async function atRate(
  perSecond: number,
  count: number,
  each: (i: number) => Promise<unknown>,
): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await each(i);
  }
}

/** The record a live item carries (a test fails on a malformed one). */
export function recordOf(item: LiveItem): unknown {
  const parsed = parseLiveItem(item);
  if ('error' in parsed) throw new Error(`message ${item.line} is not a record: ${parsed.error}`);
  return parsed.record;
}
