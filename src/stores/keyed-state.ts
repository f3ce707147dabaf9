import { WarmflowError } from '../errors.js';
import type { KeyedState } from '../template/function-api.js';
import type { DataStore } from './store.js';

/** Options of a {@link KeyedStateStore}. */
export interface KeyedStateOptions {
  /**
   * Keep clean entries cached after `flush()` (default true). Safe because keyed
   * partitioning sends every record of a key to one node instance, so no one else
   * writes that key's state; turn off if something else may.
   */
  retain?: boolean;
  /** Cached entries above which clean ones are dropped at `flush()`; default 100 000. */
  maxCachedEntries?: number;
  /**
   * State names the node declares: every `prefetch` loads them (from the first batch on),
   * so they can be read synchronously with {@link KeyedStateStore.read}.
   */
  names?: readonly string[];
}

/** Separates the record key from the state name in an item key; NUL cannot clash with JSON text keys users type. */
const SEP = '\u0000';

/** A cached state value; `undefined` with `dirty` means a pending delete. */
interface Slot {
  value: unknown;
  dirty: boolean;
}

/**
 * `FunctionContext.state` over a {@link DataStore}, with a write-back cache so a keyed
 * function does not pay one Redis or PostgreSQL round trip per record.
 *
 * State of node `N` of template `T` lives in namespace `state/T/N`, item key
 * `<record key>\u0000<state name>`. Per batch, the executor calls `prefetch(keys)` (one
 * `getMany` for every state name seen so far), runs the function with `forKey(key)`
 * for each record, then `flush()` (one `putMany` of what changed).
 *
 * ```ts
 * const state = new KeyedStateStore(store, 'clicks', 'count_by_user');
 * await state.prefetch(batch.map((r) => r.user_id));
 * for (const r of batch) await fn(r, { ...ctx, key: r.user_id, state: state.forKey(r.user_id) });
 * await state.flush();
 * ```
 *
 * Values are JSON once flushed; between `set` and `flush` the cache holds the object
 * itself, so a function that mutates an object it `set` sees its own mutation.
 */
export class KeyedStateStore {
  readonly namespace: string;
  readonly #store: DataStore;
  readonly #config: Readonly<Required<KeyedStateOptions>>;
  readonly #cache = new Map<string, Slot>();
  /** State names seen so far; prefetch asks for all of them (a function uses few). */
  readonly #names = new Set<string>();
  #dirty = 0;

  constructor(store: DataStore, template: string, node: string, options: KeyedStateOptions = {}) {
    this.#store = store;
    this.namespace = `state/${template}/${node}`;
    this.#config = Object.freeze({
      retain: options.retain ?? true,
      maxCachedEntries: options.maxCachedEntries ?? 100_000,
      names: options.names ?? [],
    });
    for (const name of this.#config.names) this.#names.add(name);
  }

  /** The item key of state `name` of record key `key`. */
  static itemKey(key: string, name: string): string {
    return key + SEP + name;
  }

  /** The state of one record key, as a user function receives it. */
  forKey(key: string): KeyedState {
    return new KeyState(this, key);
  }

  /** Loads, in one `getMany`, every known state name of `keys` not yet cached. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    if (this.#names.size === 0) return;
    const missing = new Set<string>();
    for (const key of keys) {
      for (const name of this.#names) {
        const item = KeyedStateStore.itemKey(key, name);
        if (!this.#cache.has(item)) missing.add(item);
      }
    }
    if (missing.size === 0) return;
    const items = [...missing];
    const values = await this.#store.getMany(this.namespace, items);
    items.forEach((item, i) => {
      // A set() that raced the read is newer than what was read.
      if (!this.#cache.has(item)) this.#cache.set(item, { value: values[i], dirty: false });
    });
  }

  async get(key: string, name: string): Promise<unknown> {
    this.#names.add(name);
    const item = KeyedStateStore.itemKey(key, name);
    const slot = this.#cache.get(item);
    if (slot !== undefined) return slot.value;
    const value = await this.#store.get(this.namespace, item);
    const raced = this.#cache.get(item);
    if (raced !== undefined) return raced.value;
    this.#cache.set(item, { value, dirty: false });
    return value;
  }

  /**
   * The cached value of `key`'s state `name`, synchronously: a declared name, after the
   * `prefetch` of a batch holding `key` (clean entries are dropped only by `flush`).
   */
  read(key: string, name: string): unknown {
    const slot = this.#cache.get(KeyedStateStore.itemKey(key, name));
    if (slot === undefined)
      throw new WarmflowError(
        'E_STATE',
        `state "${name}" of key "${key}" is not loaded: read it with await get(), or declare it and prefetch the key first`,
      );
    return slot.value;
  }

  /** `set`, synchronously (the write goes to the cache; `flush` stores it). */
  write(key: string, name: string, value: unknown): void {
    this.#names.add(name);
    const item = KeyedStateStore.itemKey(key, name);
    const slot = this.#cache.get(item);
    if (slot === undefined) {
      this.#cache.set(item, { value, dirty: true });
      this.#dirty++;
    } else {
      if (!slot.dirty) this.#dirty++;
      slot.value = value;
      slot.dirty = true;
    }
  }

  async set(key: string, name: string, value: unknown): Promise<void> {
    this.write(key, name, value);
  }

  async delete(key: string, name: string): Promise<void> {
    await this.set(key, name, undefined);
  }

  /** Entries changed since the last flush. */
  get dirtyCount(): number {
    return this.#dirty;
  }

  /** Writes every changed entry with one `putMany` (deletes as `undefined` values). */
  async flush(): Promise<void> {
    if (this.#dirty > 0) {
      const entries: Array<[string, unknown]> = [];
      for (const [item, slot] of this.#cache) {
        if (!slot.dirty) continue;
        entries.push([item, slot.value]);
        // Marked clean before the write: a set() during the await re-dirties its slot.
        slot.dirty = false;
      }
      this.#dirty = 0;
      try {
        await this.#store.putMany(this.namespace, entries);
      } catch (error) {
        for (const [item] of entries) {
          const slot = this.#cache.get(item);
          if (slot !== undefined && !slot.dirty) {
            slot.dirty = true;
            this.#dirty++;
          }
        }
        throw error;
      }
    }
    if (!this.#config.retain || this.#cache.size > this.#config.maxCachedEntries) {
      for (const [item, slot] of this.#cache) if (!slot.dirty) this.#cache.delete(item);
    }
  }

  /**
   * Distinct record keys holding any state, after a flush — across every instance of
   * the node, since they share the namespace. Scans the namespace once.
   */
  async keyCount(): Promise<number> {
    await this.flush();
    const keys = new Set<string>();
    for await (const [item] of this.#store.entries(this.namespace)) {
      const at = item.lastIndexOf(SEP);
      keys.add(at < 0 ? item : item.slice(0, at));
    }
    return keys.size;
  }

  /** Removes all state of the node (every key, every instance). */
  async clear(): Promise<void> {
    this.#cache.clear();
    this.#dirty = 0;
    await this.#store.drop(this.namespace);
  }
}

/**
 * One key's view of a {@link KeyedStateStore}: a class rather than three closures,
 * since the executor makes one per record.
 */
class KeyState implements KeyedState {
  readonly #owner: KeyedStateStore;
  readonly #key: string;

  constructor(owner: KeyedStateStore, key: string) {
    this.#owner = owner;
    this.#key = key;
  }

  get<T = unknown>(name: string): Promise<T | undefined> {
    return this.#owner.get(this.#key, name) as Promise<T | undefined>;
  }

  set(name: string, value: unknown): Promise<void> {
    return this.#owner.set(this.#key, name, value);
  }

  delete(name: string): Promise<void> {
    return this.#owner.delete(this.#key, name);
  }

  read<T = unknown>(name: string): T | undefined {
    return this.#owner.read(this.#key, name) as T | undefined;
  }

  write(name: string, value: unknown): void {
    this.#owner.write(this.#key, name, value);
  }
}
