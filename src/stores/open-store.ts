import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StoreSpec } from '../template/types.js';
import type { DataStore } from './store.js';
import { StoreError } from './store-error.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import { RedisStore } from './redis/redis-store.js';
import { connectRedis } from './redis/redis-client.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { connectPostgres } from './postgres/postgres-pool.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Folder a relative sqlite `path` is resolved against (the flow file's folder); default the working directory. */
  baseDir?: string;
}

/**
 * Opens the data store instance `name` of a flow's store catalogue. Drivers load only
 * when their kind is used. Memory needs nothing; sqlite takes `path` (relative to
 * `baseDir`, default `<name>.db`, `:memory:` allowed); redis and postgres take `url`.
 *
 * ```ts
 * const store = await openStore('local', { kind: 'sqlite', path: 'state.db' }, { baseDir: flowDir });
 * ```
 */
export async function openStore(
  name: string,
  spec: StoreSpec,
  options: OpenStoreOptions = {},
): Promise<DataStore> {
  const id = { name, kind: spec.kind };
  switch (spec.kind) {
    case 'memory':
      return new MemoryStore({ name });
    case 'sqlite': {
      const file = sqliteFile(name, spec, options);
      try {
        if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
        return new SqliteStore({ name, database: await openSqliteDatabase(file) });
      } catch (cause) {
        throw new StoreError(
          'E_STORE',
          id,
          `cannot open SQLite database ${file}: ${(cause as Error).message}`,
          {
            cause,
            hint: 'check that the folder is writable and the file is a SQLite database',
          },
        );
      }
    }
    default:
      return openNetworkStore(name, spec);
  }
}

function sqliteFile(name: string, spec: StoreSpec, options: OpenStoreOptions): string {
  const file = spec.path ?? `${name}.db`;
  if (file === ':memory:') return file;
  return path.resolve(options.baseDir ?? process.cwd(), file);
}

async function openNetworkStore(name: string, spec: StoreSpec): Promise<DataStore> {
  const id = { name, kind: spec.kind };
  if (
    spec.kind !== 'redis' &&
    spec.kind !== 'postgres' &&
    spec.kind !== 'nats' &&
    spec.kind !== 'redis-stream'
  ) {
    throw new StoreError('E_STORE_CONFIG', id, `unknown store kind "${String(spec.kind)}"`, {
      hint: 'use one of memory, sqlite, redis, postgres, nats, redis-stream',
    });
  }
  if (spec.url === undefined) {
    throw new StoreError('E_STORE_CONFIG', id, 'needs a `url`', {
      hint:
        spec.kind === 'redis' || spec.kind === 'redis-stream'
          ? 'e.g. url: redis://127.0.0.1:6379/0'
          : spec.kind === 'nats'
            ? 'e.g. url: nats://127.0.0.1:4222'
            : 'e.g. url: postgres://user@127.0.0.1:5432/db',
    });
  }
  try {
    switch (spec.kind) {
      case 'redis':
        return new RedisStore({
          name,
          client: await connectRedis(spec.url, spec.socket),
          ...(spec.prefix !== undefined ? { keyPrefix: spec.prefix } : {}),
        });
      case 'postgres':
        return new PostgresStore({
          name,
          pool: await connectPostgres(spec.url, 4, spec.schema, spec.socket),
        });
      case 'nats': {
        const { NatsStreamStore } = await import('./nats/nats-stream-store.js');
        return await NatsStreamStore.open({
          name,
          url: spec.url,
          ...(spec.subject !== undefined ? { subject: spec.subject } : {}),
          // A server's tenant namespace: the tenant's subjects start with its prefix.
          ...(spec.prefix !== undefined ? { prefix: spec.prefix } : {}),
        });
      }
      case 'redis-stream': {
        const { RedisStreamStore } = await import('./redis-stream/redis-stream-store.js');
        return await RedisStreamStore.open({
          name,
          url: spec.url,
          ...(spec.stream !== undefined ? { stream: spec.stream } : {}),
          ...(spec.maxlen !== undefined ? { maxlen: spec.maxlen } : {}),
          ...(spec.prefix !== undefined ? { prefix: spec.prefix } : {}),
          ...(spec.socket !== undefined ? { socket: spec.socket } : {}),
        });
      }
    }
  } catch (cause) {
    if (spec.instance !== undefined) {
      // A server's catalogued instance: its address is the admin's, and whether a port is open
      // or closed is not the tenant's to learn.
      throw new StoreError('E_STORE', id, `store ${spec.instance} unavailable`, {
        hint: 'ask the server admin whether the store instance is up',
      });
    }
    throw new StoreError(
      'E_STORE',
      id,
      `cannot connect to ${redactUrl(spec.url)}: ${(cause as Error).message}`,
      {
        cause,
        hint: `check that ${spec.kind} is running and the URL is right`,
      },
    );
  }
}

/** Hides a password in a connection URL before it goes into a message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}
