import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serviceAvailable, SERVICES } from '../helpers/services.js';
import { openStore } from '../../src/stores/open-store.js';
import type { DataStore } from '../../src/stores/store.js';

/** One implementation of the DataStore contract under test. */
export interface Backend {
  kind: string;
  /** Opens a connection to the same underlying data each time. */
  open(): Promise<DataStore>;
  /** Whether data outlives one store object (false for memory). */
  persistent: boolean;
  /** Removes what the run left (files); namespaces are dropped by the tests themselves. */
  cleanup(): Promise<void>;
}

/** Memory and SQLite always; Redis and PostgreSQL when reachable (required under CI=true). */
export async function backends(): Promise<Backend[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-stores-'));
  const list: Backend[] = [
    {
      kind: 'memory',
      persistent: false,
      // Each memory store object is its own data; tests that reopen skip it.
      open: () => openStore('mem', { kind: 'memory' }),
      cleanup: async () => undefined,
    },
    {
      kind: 'sqlite',
      persistent: true,
      open: () => openStore('lite', { kind: 'sqlite', path: 'conformance.db' }, { baseDir: dir }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    },
  ];
  if (await serviceAvailable('redis')) {
    list.push({
      kind: 'redis',
      persistent: true,
      open: () => openStore('cache', { kind: 'redis', url: SERVICES.redis.url }),
      cleanup: async () => undefined,
    });
  }
  if (await serviceAvailable('postgres')) {
    list.push({
      kind: 'postgres',
      persistent: true,
      open: () => openStore('pg', { kind: 'postgres', url: SERVICES.postgres.url }),
      cleanup: async () => undefined,
    });
  }
  return list;
}
