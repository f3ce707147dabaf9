import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
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
      if (store?.kind === 'memory') await loadSeed(store, seed);
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

/** Loads a seed JSONL file into `type/<T>` keyed by the type's key field. */
export async function loadSeed(store: DataStore, seed: SeedSpec): Promise<number> {
  const lines = createInterface({ input: createReadStream(seed.file), crlfDelay: Infinity });
  let batch: Array<[string, unknown]> = [];
  let count = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as unknown;
    const key = fieldOf(record, seed.key);
    if (key === undefined || key === null) continue;
    batch.push([keyString(key), record]);
    if (batch.length >= 1000) {
      await store.putMany(`type/${seed.type}`, batch);
      count += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await store.putMany(`type/${seed.type}`, batch);
  return count + batch.length;
}
