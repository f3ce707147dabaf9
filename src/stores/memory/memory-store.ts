import type { DataStore, StoreEntries } from '../store.js';
import { StoreError } from '../store-error.js';
import { encodeValue } from '../json-value.js';

/** An object or array held as its JSON text (primitives are held as themselves). */
class JsonText {
  constructor(readonly text: string) {}
}

type Held = string | number | boolean | null | JsonText;

/**
 * What JSON would make of a primitive, kept as is: copying a number through JSON text
 * costs more than the keyed function that counts with it. Objects are held as JSON text.
 */
function hold(store: MemoryStore, where: string, value: unknown): Held | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON turns NaN and ±Infinity into null and -0 into 0.
      return Number.isFinite(value) ? value + 0 : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default: {
      if (value === null) return null;
      const text = encodeValue(store, where, value);
      return text === undefined ? undefined : new JsonText(text);
    }
  }
}

function release(held: Held | undefined): unknown {
  return held instanceof JsonText ? JSON.parse(held.text) : held;
}

/**
 * What one namespace of a {@link MemoryStore} held at a moment, for another memory store to
 * start from ({@link MemoryStore.restore}). Opaque: its values are immutable (JSON text and
 * primitives), so every store restored from it shares them and none sees another's writes.
 */
export interface MemorySnapshot {
  /** Entries held. */
  readonly size: number;
  /** Characters of keys and JSON text held (what keeping the snapshot costs, about twice in bytes). */
  readonly chars: number;
}

/** The entries of each snapshot a memory store made: only those can be restored. */
const snapshots = new WeakMap<MemorySnapshot, ReadonlyMap<string, Held>>();

/** Configuration of a {@link MemoryStore}. */
export interface MemoryStoreConfig {
  /** Instance name from the flow's store catalogue. */
  name: string;
}

/**
 * A data store held in this process's memory; gone when the process ends.
 *
 * Objects are kept as JSON text, not as the objects put, so a caller mutating an object
 * after `put` (or a value after `get`) cannot change what is stored — the same
 * semantics as the SQLite, Redis and PostgreSQL stores, which the conformance suite checks.
 *
 * ```ts
 * const store = new MemoryStore({ name: 'scratch' });
 * await store.put('type/User', 'u1', { name: 'Ada' });
 * ```
 */
export class MemoryStore implements DataStore {
  readonly kind = 'memory' as const;
  readonly #config: Readonly<MemoryStoreConfig>;
  readonly #namespaces = new Map<string, Map<string, Held>>();
  readonly #tables = new Map<string, Held[]>();
  #closed = false;

  constructor(config: MemoryStoreConfig) {
    this.#config = Object.freeze({ ...config });
  }

  get name(): string {
    return this.#config.name;
  }

  async get(namespace: string, key: string): Promise<unknown> {
    this.#open();
    return release(this.#namespaces.get(namespace)?.get(key));
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
    this.#open();
    const items = this.#namespaces.get(namespace);
    return keys.map((key) => release(items?.get(key)));
  }

  async put(namespace: string, key: string, value: unknown): Promise<void> {
    await this.putMany(namespace, [[key, value]]);
  }

  async putMany(namespace: string, entries: StoreEntries): Promise<void> {
    this.#open();
    // Encode everything first so a bad value leaves the namespace untouched (atomic).
    const encoded = entries.map(
      ([key, value]) => [key, hold(this, `"${key}" in "${namespace}"`, value)] as const,
    );
    let items = this.#namespaces.get(namespace);
    for (const [key, text] of encoded) {
      if (text === undefined) {
        items?.delete(key);
        continue;
      }
      if (items === undefined) this.#namespaces.set(namespace, (items = new Map()));
      items.set(key, text);
    }
  }

  /** What `namespace` holds now, to restore other memory stores from (see {@link MemorySnapshot}). */
  snapshot(namespace: string): MemorySnapshot {
    this.#open();
    const entries = new Map(this.#namespaces.get(namespace));
    let chars = 0;
    for (const [key, held] of entries)
      chars += key.length + (held instanceof JsonText ? held.text.length : 8);
    const snapshot: MemorySnapshot = Object.freeze({ size: entries.size, chars });
    snapshots.set(snapshot, entries);
    return snapshot;
  }

  /**
   * Puts every entry of `snapshot` into `namespace`, as `putMany` of the same values would
   * (entries there under other keys stay), without encoding any of them again.
   */
  restore(namespace: string, snapshot: MemorySnapshot): number {
    this.#open();
    const entries = snapshots.get(snapshot);
    if (entries === undefined)
      throw new StoreError('E_STORE', this, 'restore() takes a snapshot a memory store made');
    const items = this.#namespaces.get(namespace);
    if (items === undefined) this.#namespaces.set(namespace, new Map(entries));
    else for (const [key, held] of entries) items.set(key, held);
    return entries.size;
  }

  async delete(namespace: string, key: string): Promise<void> {
    this.#open();
    this.#namespaces.get(namespace)?.delete(key);
  }

  async *entries(namespace: string): AsyncIterable<[string, unknown]> {
    this.#open();
    // Snapshot so writes during iteration neither skip nor repeat keys.
    const snapshot = [...(this.#namespaces.get(namespace) ?? [])];
    for (const [key, held] of snapshot) yield [key, release(held)];
  }

  async count(namespace: string): Promise<number> {
    this.#open();
    return this.#namespaces.get(namespace)?.size ?? 0;
  }

  async append(table: string, records: readonly unknown[]): Promise<void> {
    this.#open();
    const encoded = records.map(
      (record, i) => hold(this, `record ${i} of table "${table}"`, record) ?? null,
    );
    let rows = this.#tables.get(table);
    if (rows === undefined) this.#tables.set(table, (rows = []));
    for (const text of encoded) rows.push(text);
  }

  async *readAll(table: string): AsyncIterable<unknown> {
    this.#open();
    const rows = this.#tables.get(table) ?? [];
    const end = rows.length;
    for (let i = 0; i < end; i++) yield release(rows[i]);
  }

  async drop(name: string): Promise<void> {
    this.#open();
    this.#namespaces.delete(name);
    this.#tables.delete(name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#namespaces.clear();
    this.#tables.clear();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('E_STORE_CLOSED', this, 'used after close()');
  }
}
