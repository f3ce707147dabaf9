/**
 * What the executor needs of a keyed node's state: {@link KeyedStateStore} (state in a
 * DataStore, with a write-back cache) and {@link LocalKeyedState} both provide it.
 */
export interface StateBackend {
  get(key: string, name: string): Promise<unknown>;
  set(key: string, name: string, value: unknown): Promise<void>;
  delete(key: string, name: string): Promise<void>;
  prefetch(keys: Iterable<string>): Promise<void>;
  flush(): Promise<void>;
}

/**
 * One already-resolved promise for every call that resolves to nothing (a promise cannot
 * be changed once settled, so sharing it is safe): a keyed function's `await ctx.state.set`
 * then allocates no promise of ours per record.
 */
const DONE: Promise<undefined> = Promise.resolve(undefined);

/** Between the record key and the state name in an item key (as `KeyedStateStore` lays it out). */
const SEP = '\u0000';

/**
 * Keyed state held in the owning thread's memory, for keyed nodes whose state store is a
 * `memory` store. A memory store of a run lives in one thread and dies with the run, and
 * keyed partitioning gives each key to exactly one thread, so nothing else can ever read
 * this state: a Map per key, holding values as they were set (as the write-back cache of
 * the persistent stores does between flushes), is that store without the JSON round trip
 * per value that would cost as much as the user's function.
 */
export class LocalKeyedState implements StateBackend {
  readonly #keys = new Map<string, Map<string, unknown>>();
  /**
   * With checkpoints: the slots set since the last {@link takeChanges}, by item key
   * (`<key>\u0000<name>`), holding the key's slots map (the value is read when taken).
   */
  readonly #changed: Map<string, Map<string, unknown>> | null;

  constructor(options: { trackChanges?: boolean } = {}) {
    this.#changed = options.trackChanges === true ? new Map() : null;
  }

  get(key: string, name: string): Promise<unknown> {
    const value = this.#keys.get(key)?.get(name);
    return value === undefined ? DONE : Promise.resolve(value);
  }

  set(key: string, name: string, value: unknown): Promise<void> {
    let slots = this.#keys.get(key);
    if (slots === undefined) this.#keys.set(key, (slots = new Map()));
    if (value === undefined) slots.delete(name);
    else slots.set(name, value);
    this.#changed?.set(key + SEP + name, slots);
    return DONE;
  }

  /**
   * The slots changed since the last call, as `[item key, value]` (`undefined`: deleted),
   * values as JSON would give them back — a function may go on mutating an object it set.
   */
  takeChanges(): Array<[string, unknown]> {
    const changed = this.#changed;
    if (changed === null || changed.size === 0) return [];
    const out: Array<[string, unknown]> = [];
    for (const [item, slots] of changed) {
      const value = slots.get(item.slice(item.lastIndexOf(SEP) + 1));
      out.push([
        item,
        value === null || typeof value !== 'object'
          ? value
          : (JSON.parse(JSON.stringify(value)) as unknown),
      ]);
    }
    changed.clear();
    return out;
  }

  /** Loads state a checkpoint holds (`[item key, value]`), not counted as changes. */
  restore(items: ReadonlyArray<readonly [string, unknown]>): void {
    for (const [item, value] of items) {
      const at = item.lastIndexOf(SEP);
      const key = item.slice(0, at);
      let slots = this.#keys.get(key);
      if (slots === undefined) this.#keys.set(key, (slots = new Map()));
      slots.set(item.slice(at + 1), value);
    }
  }

  /** Every slot held, as `[item key, value]` (values as JSON would give them back). */
  entries(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const [key, slots] of this.#keys)
      for (const [name, value] of slots)
        out.push([
          key + SEP + name,
          value === null || typeof value !== 'object'
            ? value
            : (JSON.parse(JSON.stringify(value)) as unknown),
        ]);
    return out;
  }

  delete(key: string, name: string): Promise<void> {
    return this.set(key, name, undefined);
  }

  prefetch(): Promise<void> {
    return DONE;
  }

  flush(): Promise<void> {
    return DONE;
  }

  /** Keys holding any state. */
  get size(): number {
    let count = 0;
    for (const slots of this.#keys.values()) if (slots.size > 0) count++;
    return count;
  }
}
