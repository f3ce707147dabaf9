import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { openStore } from '../../stores/open-store.js';
import type { DataStore } from '../../stores/store.js';
import type { StoreSpec } from '../../template/types.js';
import type { DeploySpec, SeedSpec } from './deploy-spec.js';
import { fieldOf, keyString, type LookupTarget } from './node-context.js';

/** The stores one run uses, resolved by name. */
export interface OpenedStores {
  stores: ReadonlyMap<string, DataStore>;
  stateStores: ReadonlyMap<string, DataStore>;
  lookups: ReadonlyMap<string, LookupTarget>;
}

/**
 * A thread's store connections. Connections to persistent stores (SQLite, Redis,
 * PostgreSQL) are opened while the worker warms and reused by every run; a `memory`
 * store is created fresh for each run (its content is the run's, not the resource's),
 * and memory lookup tables are seeded from their `seed` files at deploy.
 */
export class RunStores {
  readonly #open = new Map<string, DataStore>();
  #memory: DataStore[] = [];

  /** Opens (at warm time) every persistent store of the catalogue. */
  async warm(stores: Record<string, StoreSpec>): Promise<void> {
    for (const [name, spec] of Object.entries(stores)) {
      if (spec.kind !== 'memory') await this.#persistent(name, spec);
    }
  }

  async forRun(spec: DeploySpec, step: { at: string } = { at: '' }): Promise<OpenedStores> {
    await this.#closeMemory();
    const stores = new Map<string, DataStore>();
    for (const [name, storeSpec] of Object.entries(spec.stores)) {
      step.at = `opening store "${name}" (${storeSpec.kind})`;
      if (storeSpec.kind === 'memory') {
        const store = await openStore(name, storeSpec);
        this.#memory.push(store);
        stores.set(name, store);
      } else stores.set(name, await this.#persistent(name, storeSpec));
    }
    for (const seed of spec.seeds) {
      step.at = `loading the seed of ${seed.type} into "${seed.store}"`;
      const store = stores.get(seed.store);
      if (store?.kind === 'memory') await loadSeed(store, seed, { blocking: true });
    }
    const stateStores = new Map<string, DataStore>();
    for (const node of spec.template.nodes) {
      if (node.kind !== 'function' || node.key === undefined || !spec.node_ids.includes(node.id))
        continue;
      const named = spec.state_stores[node.id];
      let store = named === undefined ? undefined : stores.get(named);
      if (store === undefined) {
        store = await openStore(`${node.id}-state`, { kind: 'memory' });
        this.#memory.push(store);
      }
      stateStores.set(node.id, store);
    }
    const lookups = new Map<string, LookupTarget>();
    for (const [type, storeName] of Object.entries(spec.type_stores)) {
      const store = stores.get(storeName);
      if (store !== undefined) lookups.set(type, { store, key: spec.type_keys[type] });
    }
    return { stores, stateStores, lookups };
  }

  /** The connection to persistent store `name` (opened once, then reused). */
  persistent(name: string, spec: StoreSpec): Promise<DataStore> {
    return this.#persistent(name, spec);
  }

  async #persistent(name: string, spec: StoreSpec): Promise<DataStore> {
    const id = `${name}\u0000${JSON.stringify(spec)}`;
    let store = this.#open.get(id);
    if (store === undefined) {
      store = await openStore(name, spec);
      this.#open.set(id, store);
    }
    return store;
  }

  async #closeMemory(): Promise<void> {
    const memory = this.#memory;
    this.#memory = [];
    await Promise.all(memory.map((s) => s.close()));
  }

  async close(): Promise<void> {
    await this.#closeMemory();
    await Promise.allSettled([...this.#open.values()].map((s) => s.close()));
    this.#open.clear();
  }
}

/**
 * Loads a seed JSONL file into `type/<T>` keyed by the type's key field. With `blocking`
 * (a data-plane thread, dedicated to its run) the file is read with synchronous reads, a
 * piece at a time: a stream's reads through libuv's pool cost a warm run about a millisecond
 * of wake-ups before its first record (a 14 KB seed, medians of 30 after 50 ms idle: 1.9-2.5
 * ms streamed, 0.8-1.0 ms read so). Elsewhere (the orchestrator's event loop) it is streamed.
 */
export async function loadSeed(
  store: DataStore,
  seed: SeedSpec,
  options: { blocking?: boolean } = {},
): Promise<number> {
  let batch: Array<[string, unknown]> = [];
  let count = 0;
  const take = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    const record = JSON.parse(line) as unknown;
    const key = fieldOf(record, seed.key);
    if (key === undefined || key === null) return;
    batch.push([keyString(key), record]);
    if (batch.length >= 1000) {
      await store.putMany(`type/${seed.type}`, batch);
      count += batch.length;
      batch = [];
    }
  };
  if (options.blocking === true) {
    const fd = openSync(seed.file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(SEED_READ_BYTES);
      const decoder = new StringDecoder('utf8');
      let carry = '';
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        const text = carry + (n === 0 ? decoder.end() : decoder.write(buffer.subarray(0, n)));
        let from = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
          await take(text.slice(from, nl));
          from = nl + 1;
        }
        carry = text.slice(from);
        if (n === 0) break;
      }
      await take(carry);
    } finally {
      closeSync(fd);
    }
  } else {
    const lines = createInterface({ input: createReadStream(seed.file), crlfDelay: Infinity });
    for await (const line of lines) await take(line);
  }
  if (batch.length > 0) await store.putMany(`type/${seed.type}`, batch);
  return count + batch.length;
}

/** Bytes a seed is read by at a time in a data-plane thread. */
const SEED_READ_BYTES = 64 * 1024;
