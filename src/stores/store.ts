import type { StoreKind } from '../template/types.js';

/**
 * The contract every data store instance implements (memory, sqlite, redis,
 * postgres). It speaks in our domain — namespaces of keyed JSON values and
 * append-only record tables — and leaks no client types.
 *
 * - Keyed state of a keyed function lives in namespace `state/<template>/<node>`,
 *   item key `<record key>` + '\u0000' + `<state name>`.
 * - A type placed in a store (`types: { T: { store, key } }`) lives in namespace `type/<T>`,
 *   keyed by the value of its key field; `read:T` nodes `get` from it, `write:T` nodes `put`.
 * - A written type without a key is appended to table `<T>`.
 *
 * Values are JSON: what `get` returns is what `JSON.parse(JSON.stringify(value))` would
 * give, never the object that was put. `undefined` is not JSON, so putting `undefined`
 * (with `put` or inside `putMany`) deletes the key; `get` of a missing key resolves to
 * `undefined`. Namespaces, table names and keys are arbitrary strings (NUL included);
 * a namespace and a table of the same name are distinct. `putMany` is atomic, and with a
 * key repeated the last entry wins. `entries` has no defined order; `readAll` yields in
 * append order.
 */
/** The `[key, value]` entries of one `putMany` (an `undefined` value deletes its key). */
export type StoreEntries = ReadonlyArray<readonly [string, unknown]>;

export interface DataStore {
  readonly kind: StoreKind;
  readonly name: string;
  get(namespace: string, key: string): Promise<unknown>;
  getMany(namespace: string, keys: readonly string[]): Promise<unknown[]>;
  put(namespace: string, key: string, value: unknown): Promise<void>;
  putMany(namespace: string, entries: StoreEntries): Promise<void>;
  delete(namespace: string, key: string): Promise<void>;
  /** Every entry of a namespace (for tests, checkpoints, inspection). */
  entries(namespace: string): AsyncIterable<[string, unknown]>;
  /** Number of keys in a namespace. */
  count(namespace: string): Promise<number>;
  append(table: string, records: readonly unknown[]): Promise<void>;
  readAll(table: string): AsyncIterable<unknown>;
  /** Removes a namespace or table entirely. */
  drop(name: string): Promise<void>;
  close(): Promise<void>;
}
