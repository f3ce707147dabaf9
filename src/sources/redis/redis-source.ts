import os from 'node:os';
import { WarmflowError } from '../../errors.js';
import type { LiveBatch, LiveItem, LivePeek, LiveSource } from '../live/live-source.js';
import type { RedisSourceUrl } from '../live/live-url.js';

/**
 * The part of an ioredis client the stream source uses: raw commands. Typing against it
 * keeps ioredis optional (loaded only for a `redis://` source) and the replies explicit.
 */
export interface RedisCommands {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** Entries pending this long on another consumer of the group are taken over. */
const DEFAULT_CLAIM_IDLE_MS = 30_000;
/** Entries a group may hold delivered but unacknowledged before the reader acknowledges. */
const MAX_IN_FLIGHT = 20_000;

type Entry = [id: string, fields: string[] | null];

/** Connects a dedicated ioredis client (a blocking read holds its connection). */
export async function connectRedisCommands(
  server: string,
  label: string,
  socket?: string,
): Promise<RedisCommands> {
  const { Redis } = await import('ioredis');
  const options = { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5000 };
  // Through a server's relay socket: the relay logs in and picks the database (no AUTH, SELECT
  // or INFO from here).
  const client =
    socket === undefined
      ? new Redis(server, options)
      : new Redis({ ...options, path: socket, enableReadyCheck: false });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
  } catch (cause) {
    client.disconnect();
    throw new WarmflowError(
      'E_SOURCE_UNREACHABLE',
      `${label}: cannot connect to Redis: ${(lastError ?? (cause as Error)).message}`,
      { cause, hint: 'is redis-server running and the host:port/db right?' },
    );
  }
  return client;
}

const EMPTY = new Uint8Array(0);

/**
 * An entry as a live item: its `data` field's text when that is its only field (parsed as
 * the record later), else its fields as a JSON object of strings.
 */
export function entryItem(entry: Entry, line: number): LiveItem {
  const [id, fields] = entry;
  const arrival = Number(id.slice(0, id.indexOf('-')));
  if (fields === null)
    return {
      data: EMPTY,
      error: 'the entry was deleted before it was read',
      line,
      position: id,
      bytes: 0,
      arrival_ms: arrival,
    };
  if (fields.length === 2 && fields[0] === 'data') {
    const data = Buffer.from(fields[1]);
    return { data, line, position: id, bytes: data.length, arrival_ms: arrival };
  }
  const record: Record<string, string> = {};
  let bytes = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    record[fields[i]] = fields[i + 1];
    bytes += fields[i].length + fields[i + 1].length + 4;
  }
  return {
    data: Buffer.from(JSON.stringify(record)),
    line,
    position: id,
    bytes,
    arrival_ms: arrival,
  };
}

/** `XREAD`/`XREADGROUP` reply for one stream → its entries. */
function entriesOf(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  // One stream read: `[[key, entries]]`, which some client versions hand back as `[key, entries]`.
  const stream = (typeof reply[0] === 'string' ? reply : reply[0]) as [string, Entry[]];
  return stream[1] ?? [];
}

async function groupLag(
  client: RedisCommands,
  key: string,
  group: string,
): Promise<number | undefined> {
  const groups = (await client.call('XINFO', 'GROUPS', key)) as Array<
    Array<string | number | null>
  >;
  for (const flat of groups) {
    const info = new Map<string, string | number | null>();
    for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
    if (info.get('name') !== group) continue;
    const lag = info.get('lag');
    return Number(info.get('pending') ?? 0) + (lag === null || lag === undefined ? 0 : Number(lag));
  }
  return undefined;
}

/**
 * A Redis Stream read with a consumer group: first this consumer's own pending entries
 * (delivered to an earlier run of it and never acknowledged), then entries of other
 * consumers of the group pending longer than `claim_idle` (a dead reader's, `XAUTOCLAIM`,
 * checked again every `claim_idle`), then new entries (`XREADGROUP … >`). `ack` is `XACK`.
 */
export async function openRedisSource(url: RedisSourceUrl, group: string): Promise<LiveSource> {
  const reader = await connectRedisCommands(url.server, url.label);
  const control = await connectRedisCommands(url.server, url.label);
  const consumer = url.consumer ?? `warmflow-${os.hostname()}`;
  const claimIdle = url.claim_idle_ms ?? DEFAULT_CLAIM_IDLE_MS;
  try {
    await control.call('XGROUP', 'CREATE', url.key, group, url.start, 'MKSTREAM');
  } catch (error) {
    if (!/BUSYGROUP/.test((error as Error).message)) {
      reader.disconnect();
      control.disconnect();
      throw new WarmflowError(
        'E_SOURCE',
        `${url.label}: cannot create group "${group}": ${(error as Error).message}`,
        {
          cause: error,
          hint: `is "${url.key}" a stream?`,
        },
      );
    }
  }
  let ownPending = true;
  let claimCursor = '0-0';
  let lastClaim = 0;
  let read = 0;
  /**
   * Entry ids handed over and not acknowledged. `XAUTOCLAIM` also takes this consumer's own
   * entries once they are pending longer than `claim_idle` (an epoch still being committed):
   * those are not handed over twice, so each entry is in exactly one batch.
   */
  const held = new Set<string>();
  const toItems = (entries: Entry[]) =>
    entries.flatMap((e) => {
      if (held.has(e[0])) return [];
      held.add(e[0]);
      return [entryItem(e, ++read)];
    });
  const batch = (items: LiveItem[]): LiveBatch => ({
    items,
    async ack() {
      if (items.length === 0) return;
      await control.call('XACK', url.key, group, ...items.map((i) => i.position!));
      for (const i of items) held.delete(i.position!);
    },
  });
  /** `XREADGROUP`: this consumer's own pending entries from `id` `0`, or new ones at `>`. */
  const readGroup = async (
    max: number,
    id: '0' | '>',
    block: Array<string | number> = [],
  ): Promise<Entry[]> =>
    entriesOf(
      await reader.call(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        max,
        ...block,
        'STREAMS',
        url.key,
        id,
      ),
    );
  return {
    label: url.label,
    group,
    maxInFlight: MAX_IN_FLIGHT,
    async next(max: number, waitMs: number): Promise<LiveBatch> {
      if (ownPending) {
        const mine = await readGroup(max, '0');
        if (mine.length > 0) return batch(toItems(mine));
        ownPending = false;
      }
      if (Date.now() - lastClaim >= claimIdle || claimCursor !== '0-0') {
        lastClaim = Date.now();
        const [cursor, claimed] = (await reader.call(
          'XAUTOCLAIM',
          url.key,
          group,
          consumer,
          claimIdle,
          claimCursor,
          'COUNT',
          max,
        )) as [string, Entry[]];
        claimCursor = cursor;
        if (claimed.length > 0) return batch(toItems(claimed));
      }
      const fresh = await readGroup(max, '>', ['BLOCK', Math.max(1, Math.round(waitMs))]);
      return batch(toItems(fresh));
    },
    lag: () => groupLag(control, url.key, group),
    async close() {
      reader.disconnect();
      await control.quit();
    },
  };
}

/**
 * Reads a Redis Stream with plain `XREAD` (no group: nothing is delivered to or taken
 * from anyone), from its first entry or only what arrives.
 */
export async function openRedisPeek(url: RedisSourceUrl, from: 'now' | 'start'): Promise<LivePeek> {
  const client = await connectRedisCommands(url.server, url.label);
  let last = '0-0';
  if (from === 'now') {
    const newest = (await client.call('XREVRANGE', url.key, '+', '-', 'COUNT', 1)) as Entry[];
    if (newest.length > 0) last = newest[0][0];
  }
  let read = 0;
  return {
    label: url.label,
    async next(max: number, waitMs: number) {
      const entries = entriesOf(
        await client.call(
          'XREAD',
          'COUNT',
          max,
          'BLOCK',
          Math.max(1, Math.round(waitMs)),
          'STREAMS',
          url.key,
          last,
        ),
      );
      if (entries.length > 0) last = entries[entries.length - 1][0];
      return entries.map((e) => entryItem(e, ++read));
    },
    async lag() {
      if (url.group === undefined) return undefined;
      try {
        return await groupLag(client, url.key, url.group);
      } catch {
        return undefined;
      }
    },
    async close() {
      await client.quit();
    },
  };
}
