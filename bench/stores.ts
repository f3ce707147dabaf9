/**
 * Keyed state over each data store: a keyed count (one state value per key) through
 * `KeyedStateStore` (one getMany + one putMany per batch of 1,000 records) against
 * the naive way (one get and one put per record), in the same run.
 *
 *   npm run bench:stores            # memory, sqlite; redis/postgres when reachable
 *
 * Both paths get the same records (the same keys in the same order) per store, so neither
 * gains from a warmer cache or a smaller table. Last line: one JSON object,
 * `<kind>_records`, `<kind>_cached_rps`, `<kind>_naive_rps` and `<kind>_speedup`
 * (cached / naive) per store kind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { openStore } from '../src/stores/open-store.js';
import { KeyedStateStore } from '../src/stores/keyed-state.js';
import type { DataStore } from '../src/stores/store.js';
import type { StoreSpec } from '../src/template/types.js';

const KEYS = 5_000;
const BATCH = 1_000;

function keysFor(records: number): string[] {
  // A fixed pseudo-random sequence, so every variant sees the same keys.
  let x = 12345;
  return Array.from({ length: records }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return `user-${x % KEYS}`;
  });
}

async function cached(store: DataStore, keys: string[], template: string): Promise<number> {
  const state = new KeyedStateStore(store, template, 'count', { retain: false });
  const start = performance.now();
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    await state.prefetch(batch);
    for (const key of batch) {
      const s = state.forKey(key);
      await s.set('n', ((await s.get<number>('n')) ?? 0) + 1);
    }
    await state.flush();
  }
  const seconds = (performance.now() - start) / 1000;
  await check(store, state.namespace, keys.length);
  return keys.length / seconds;
}

async function naive(store: DataStore, keys: string[], template: string): Promise<number> {
  const namespace = `state/${template}/count`;
  const start = performance.now();
  for (const key of keys) {
    const item = KeyedStateStore.itemKey(key, 'n');
    await store.put(
      namespace,
      item,
      (((await store.get(namespace, item)) as number | undefined) ?? 0) + 1,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  await check(store, namespace, keys.length);
  return keys.length / seconds;
}

/** A benchmark of wrong code measures nothing: the counts must add up. */
async function check(store: DataStore, namespace: string, expected: number): Promise<void> {
  let total = 0;
  for await (const [, value] of store.entries(namespace)) total += value as number;
  if (total !== expected)
    throw new Error(`${store.kind}: counts add up to ${total}, expected ${expected}`);
  await store.drop(namespace);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-bench-stores-'));
// [spec, records through each path (fewer for the networked stores: the naive way makes one
// round trip per get and per put)]
const specs: Array<[StoreSpec, number]> = [
  [{ kind: 'memory' }, 200_000],
  [{ kind: 'sqlite', path: path.join(dir, 'bench.db') }, 50_000],
  [
    { kind: 'redis', url: process.env.WARMFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0' },
    10_000,
  ],
  [
    {
      kind: 'postgres',
      url: process.env.WARMFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
    5_000,
  ],
];
const result: Record<string, number> = { keys: KEYS, batch: BATCH };
try {
  for (const [spec, records] of specs) {
    let store: DataStore;
    try {
      store = await openStore(`bench-${spec.kind}`, spec);
    } catch (error) {
      console.log(`${spec.kind}: skipped (${(error as Error).message})`);
      continue;
    }
    const keys = keysFor(records);
    const template = `bench-${randomUUID()}`;
    // Alternate and keep the median of three passes each; the machine is shared.
    const c: number[] = [];
    const n: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      c.push(await cached(store, keys, template));
      n.push(await naive(store, keys, template));
    }
    await store.close();
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    result[`${spec.kind}_records`] = records;
    result[`${spec.kind}_cached_rps`] = Math.round(median(c));
    result[`${spec.kind}_naive_rps`] = Math.round(median(n));
    result[`${spec.kind}_speedup`] = Number((median(c) / median(n)).toFixed(1));
    console.log(
      `${spec.kind}: cached ${Math.round(median(c))} rec/s, naive ${Math.round(median(n))} rec/s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
