import type { StoreKind } from '../template/types.js';
import type { DataStore } from './store.js';
import { StoreError } from './store-error.js';

/**
 * The part of {@link DataStore} a stream sink implements: records are appended to a stream
 * and read back in order; nothing is keyed. The keyed operations refuse with a clear error
 * (a type with a `key`, or keyed state, cannot be placed in a stream).
 */
export abstract class AppendOnlyStore implements DataStore {
  abstract readonly kind: StoreKind;
  abstract readonly name: string;
  abstract append(table: string, records: readonly unknown[]): Promise<void>;
  abstract readAll(table: string): AsyncIterable<unknown>;
  abstract drop(name: string): Promise<void>;
  abstract close(): Promise<void>;

  #refuse(operation: string): StoreError {
    return new StoreError(
      'E_STORE_APPEND_ONLY',
      { name: this.name, kind: this.kind },
      `${operation}: a ${this.kind} store is append-only (records are published to a stream)`,
      {
        hint: 'place only types without a `key` in it, and keep keyed state in memory, sqlite, redis or postgres',
      },
    );
  }

  get(): Promise<unknown> {
    return Promise.reject(this.#refuse('get'));
  }
  getMany(): Promise<unknown[]> {
    return Promise.reject(this.#refuse('getMany'));
  }
  put(): Promise<void> {
    return Promise.reject(this.#refuse('put'));
  }
  putMany(): Promise<void> {
    return Promise.reject(this.#refuse('putMany'));
  }
  delete(): Promise<void> {
    return Promise.reject(this.#refuse('delete'));
  }
  // eslint-disable-next-line require-yield -- refuses before yielding anything
  async *entries(): AsyncIterable<[string, unknown]> {
    throw this.#refuse('entries');
  }
  count(): Promise<number> {
    return Promise.reject(this.#refuse('count'));
  }
}
