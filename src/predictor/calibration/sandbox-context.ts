import type { FunctionContext, KeyedState } from '../../template/function-api.js';
import type { LookupTable } from './sandbox-protocol.js';

/**
 * In-memory stand-in for the execution engine's FunctionContext: per-key state in a
 * Map (what the `memory` store holds); lookups answer from the flow's seed rows when
 * it has them, else `undefined` (no store is reachable from the sandbox, and the
 * function must cope with a missing row anyway).
 */
export class SandboxState {
  readonly #keys = new Map<string, Map<string, unknown>>();
  readonly #lookups: Record<string, LookupTable>;

  constructor(lookups: Record<string, LookupTable> = {}) {
    this.#lookups = lookups;
  }

  /** Distinct keys that hold any state. */
  get size(): number {
    let n = 0;
    for (const values of this.#keys.values()) if (values.size > 0) n += 1;
    return n;
  }

  /** A context for one invocation on `key`. */
  context(
    node: string,
    template: string,
    key: string | undefined,
    record?: unknown,
  ): FunctionContext {
    const keys = this.#keys;
    const lookups = this.#lookups;
    const state: KeyedState = {
      async get<T>(name: string): Promise<T | undefined> {
        return state.read<T>(name);
      },
      async set(name: string, value: unknown): Promise<void> {
        state.write(name, value);
      },
      read<T>(name: string): T | undefined {
        if (key === undefined) throw new Error(`state used in unkeyed function "${node}"`);
        return keys.get(key)?.get(name) as T | undefined;
      },
      write(name: string, value: unknown): void {
        if (key === undefined) throw new Error(`state used in unkeyed function "${node}"`);
        let values = keys.get(key);
        if (values === undefined) keys.set(key, (values = new Map()));
        values.set(name, value);
      },
      async delete(name: string): Promise<void> {
        if (key === undefined) throw new Error(`state used in unkeyed function "${node}"`);
        keys.get(key)?.delete(name);
      },
    };
    return {
      node,
      template,
      key,
      state,
      input: async <T>(type: string): Promise<T | undefined> => {
        const table = lookups[type];
        const value = table === undefined ? undefined : keyOf(record, table.key);
        return value === undefined ? undefined : (table.rows[value] as T | undefined);
      },
      lookup: async <T>(type: string, value: string): Promise<T | undefined> =>
        lookups[type]?.rows[value] as T | undefined,
    };
  }
}

/** Reads a dotted path (`user.id`) from a record; the key as a string, or undefined. */
export function keyOf(record: unknown, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return value.toString();
  // Object keys are partitioned by their JSON, as the engine's key exchange would see them.
  return JSON.stringify(value);
}

/** Normalises what a user function returned to the list of records it emitted. */
export function emitted(result: unknown): unknown[] {
  if (result === undefined || result === null) return [];
  return Array.isArray(result) ? result : [result];
}
