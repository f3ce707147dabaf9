import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { MemoryStore, type MemorySnapshot } from '../../stores/memory/memory-store.js';
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
 * and memory lookup tables are seeded from their `seed` files at deploy (parsed once per
 * file and thread, see {@link SeedCache}).
 */
export class RunStores {
  readonly #open = new Map<string, DataStore>();
  #memory: DataStore[] = [];
  readonly #seeds = new SeedCache();

  /** Opens (at warm time) every persistent store of the catalogue. */
  async warm(stores: Record<string, StoreSpec>): Promise<void> {
    for (const [name, spec] of Object.entries(stores)) {
      if (spec.kind !== 'memory') await this.#persistent(name, spec);
    }
  }

  async forRun(spec: DeploySpec, step: { at: string } = { at: '' }): Promise<OpenedStores> {
    if (this.#memory.length > 0) await this.#closeMemory();
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
      if (store instanceof MemoryStore) await this.#seeds.load(store, seed);
      else if (store?.kind === 'memory') await loadSeed(store, seed, { blocking: true });
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

/** Namespace of the markers saying which seed a persistent store holds, by type. */
export const SEED_MARKERS = 'warmflow/seeds';

/** What a persistent store holds under {@link SEED_MARKERS} once a seed is loaded. */
export interface SeedMarker {
  /** SHA-256 of the key field and the file's content. */
  digest: string;
  file: string;
  key: string;
  records: number;
  loaded_at: string;
}

/**
 * Digests of seed files this process read, by type, key and file, with the file's stamp
 * (size, modification and change time in ns, inode) when it was read: a warm run's seed is
 * not read again while the file is the same.
 */
const digests = new Map<string, { stamp: string; digest: string }>();
/** Seed digests kept at most (the oldest go first). */
const DIGESTS_HELD = 256;

/** SHA-256 of what a loaded seed depends on: its key field and its file's bytes. */
async function seedDigest(seed: SeedSpec): Promise<string> {
  const id = `${seed.type}\u0000${seed.key}\u0000${seed.file}`;
  const stat = statSync(seed.file, { bigint: true });
  const stamp = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
  const known = digests.get(id);
  if (known?.stamp === stamp) return known.digest;
  const hash = createHash('sha256').update(`${seed.type}\u0000${seed.key}\u0000`);
  for await (const chunk of createReadStream(seed.file)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  digests.delete(id);
  digests.set(id, { stamp, digest });
  if (digests.size > DIGESTS_HELD) digests.delete(digests.keys().next().value!);
  return digest;
}

/** What of a flow {@link persistentSeeds} reads. */
export interface SeededFlow {
  dir: string;
  spec: { types?: Record<string, { seed?: string; store?: string; key?: string }> };
  template: { nodes: ReadonlyArray<{ kind: string; type?: string; data_store?: string }> };
}

/**
 * The seeds of `flow` that go into persistent stores of the catalogue `stores` (memory stores
 * are seeded in each thread), each with its store's spec; `always` when the flow also writes
 * the type into that store (each run then starts from the seed's rows).
 */
export function persistentSeeds(
  flow: SeededFlow,
  stores: Record<string, StoreSpec>,
): Array<{ seed: SeedSpec; store: StoreSpec; always: boolean }> {
  const seeds: Array<{ seed: SeedSpec; store: StoreSpec; always: boolean }> = [];
  for (const [type, spec] of Object.entries(flow.spec.types ?? {})) {
    if (spec.seed === undefined || spec.store === undefined || spec.key === undefined) continue;
    const store = stores[spec.store];
    if (store === undefined || store.kind === 'memory') continue;
    const always = flow.template.nodes.some(
      (n) => n.kind === 'write' && n.type === type && n.data_store === spec.store,
    );
    const file = path.resolve(flow.dir, spec.seed);
    seeds.push({ seed: { type, store: spec.store, key: spec.key, file }, store, always });
  }
  return seeds;
}

/**
 * Loads `seed` into a persistent store unless the store already holds it: after a load a
 * marker (the digest of the key field and the file's content) is written under
 * {@link SEED_MARKERS}, and a later run whose file hashes the same reads the marker instead
 * of loading the file again. A changed file, a store without the marker (new, or emptied)
 * or `always` (a flow that also writes the type into that store: each run starts from the
 * seed's rows) loads it. A load that fails leaves the old marker, which no longer matches.
 */
export async function primeSeed(
  store: DataStore,
  seed: SeedSpec,
  options: { always?: boolean } = {},
): Promise<{ loaded: boolean; records: number }> {
  const digest = await seedDigest(seed);
  if (options.always !== true) {
    const marker = (await store.get(SEED_MARKERS, seed.type)) as SeedMarker | undefined;
    if (marker?.digest === digest) return { loaded: false, records: marker.records };
  }
  const records = await loadSeed(store, seed);
  const marker: SeedMarker = {
    digest,
    file: seed.file,
    key: seed.key,
    records,
    loaded_at: new Date().toISOString(),
  };
  await store.put(SEED_MARKERS, seed.type, marker);
  return { loaded: true, records };
}

/** Seed files up to this size are kept parsed between runs (see {@link SeedCache}). */
const SEED_CACHE_FILE_BYTES = 16 * 1024 * 1024;
/** Characters of parsed seeds a thread keeps at most (the oldest go first). */
const SEED_CACHE_CHARS = 32 * 1024 * 1024;

/**
 * A thread's seeds, kept parsed between runs: every run of a seeded flow starts with a fresh
 * memory store (its content is the run's), and parsing and encoding the same seed file
 * again took most of what opening the run's stores costs (a 14 KB seed: 0.8–1.0 ms). A
 * seed is loaded once into a scratch store, exactly as {@link loadSeed} loads it, and each
 * run's store is restored from that store's snapshot, which shares its immutable values.
 * A file whose size, modification or change time (nanoseconds) or inode differs is loaded
 * again; files over 16 MiB (or not regular files) are not kept, nor more than 32 Mi
 * characters in all. Only runs load seeds, after the worker checked their grant.
 */
export class SeedCache {
  readonly #kept = new Map<string, { stamp: string; snapshot: MemorySnapshot }>();
  #chars = 0;

  /** Loads `seed` into `store`; resolves to the entries put. */
  async load(store: MemoryStore, seed: SeedSpec): Promise<number> {
    const stat = statSync(seed.file, { bigint: true });
    const stamp = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
    const id = `${seed.file}\u0000${seed.type}\u0000${JSON.stringify(seed.key)}`;
    const namespace = `type/${seed.type}`;
    const kept = this.#kept.get(id);
    if (kept !== undefined && kept.stamp === stamp) return store.restore(namespace, kept.snapshot);
    this.#forget(id);
    if (!stat.isFile() || stat.size > SEED_CACHE_FILE_BYTES)
      return loadSeed(store, seed, { blocking: true });
    const scratch = new MemoryStore({ name: store.name });
    try {
      await loadSeed(scratch, seed, { blocking: true });
      const snapshot = scratch.snapshot(namespace);
      this.#forget(id); // loaded meanwhile by another caller
      this.#kept.set(id, { stamp, snapshot });
      this.#chars += snapshot.chars;
      for (const old of this.#kept.keys()) {
        if (this.#chars <= SEED_CACHE_CHARS || old === id) break;
        this.#forget(old);
      }
      if (this.#chars > SEED_CACHE_CHARS) this.#forget(id);
      return store.restore(namespace, snapshot);
    } finally {
      await scratch.close();
    }
  }

  #forget(id: string): void {
    const kept = this.#kept.get(id);
    if (kept === undefined) return;
    this.#kept.delete(id);
    this.#chars -= kept.snapshot.chars;
  }
}

/** Bytes a seed is read by at a time in a data-plane thread. */
const SEED_READ_BYTES = 64 * 1024;
