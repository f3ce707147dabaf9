import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StoreSpec } from '../template/types.js';
import type { DataStore } from './store.js';
import { StoreError } from './store-error.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';

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
        throw new StoreError('E_STORE', id, `cannot open SQLite database ${file}`, {
          cause,
          hint: 'check that the folder is writable and the file is a SQLite database',
        });
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
  throw new StoreError(
    'E_STORE_CONFIG',
    { name, kind: spec.kind },
    `unknown store kind "${String(spec.kind)}"`,
    {
      hint: 'use one of memory, sqlite, redis, postgres',
    },
  );
}
