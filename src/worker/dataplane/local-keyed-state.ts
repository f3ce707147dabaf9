/**
 * What the executor needs of a keyed node's state: {@link KeyedStateStore} (state in a
 * DataStore, with a write-back cache) and {@link LocalKeyedState} both provide it.
 */
export interface StateBackend {
  get(key: string, name: string): Promise<unknown>;
  set(key: string, name: string, value: unknown): Promise<void>;
  /**
   * Synchronous `get` of a declared name: its slots are loaded before the node runs (a
   * store-backed state prefetches the declared names of every key of the batch).
   */
  read(key: string, name: string): unknown;
  /** Synchronous `set` (`undefined` deletes). */
  write(key: string, name: string, value: unknown): void;
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
 * One key's state slots. Most keyed functions keep one slot per key (a count, a running
 * total), so the first slot lives in the object itself and further ones in `more`: one small
 * object per key rather than a Map per key, which at tens of thousands of keys made every
 * state access a walk through scattered hash tables. A deleted slot keeps its name with the
 * value `undefined` until its change is taken (a checkpoint must record the deletion).
 */
class KeySlots {
  readonly key: string;
  name: string | undefined = undefined;
  value: unknown = undefined;
  /** Further slots, `[name, value, name, value, …]`. */
  more: unknown[] | null = null;
  /** Whether a slot was set since the last {@link LocalKeyedState.takeChanges}. */
  changed = false;

  constructor(key: string) {
    this.key = key;
  }

  get(name: string): unknown {
    if (this.name === name) return this.value;
    const more = this.more;
    if (more !== null)
      for (let i = 0; i < more.length; i += 2) if (more[i] === name) return more[i + 1];
    return undefined;
  }

  put(name: string, value: unknown): void {
    if (this.name === name || this.name === undefined) {
      this.name = name;
      this.value = value;
      return;
    }
    const more = (this.more ??= []);
    for (let i = 0; i < more.length; i += 2)
      if (more[i] === name) {
        more[i + 1] = value;
        return;
      }
    more.push(name, value);
  }

  /** Every slot as `[name, value]` (`undefined`: deleted). */
  slots(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    if (this.name !== undefined) out.push([this.name, this.value]);
    const more = this.more;
    if (more !== null)
      for (let i = 0; i < more.length; i += 2) out.push([more[i] as string, more[i + 1]]);
    return out;
  }

  /** Whether any slot holds a value. */
  get held(): boolean {
    if (this.value !== undefined) return true;
    const more = this.more;
    if (more !== null)
      for (let i = 1; i < more.length; i += 2) if (more[i] !== undefined) return true;
    return false;
  }
}

/**
 * Keyed state held in the owning thread's memory, for keyed nodes whose state store is a
 * `memory` store. A memory store of a run lives in one thread and dies with the run, and
 * keyed partitioning gives each key to exactly one thread, so nothing else can ever read
 * this state: slots per key, holding values as they were set (as the write-back cache of
 * the persistent stores does between flushes), is that store without the JSON round trip
 * per value that would cost as much as the user's function.
 */
export class LocalKeyedState implements StateBackend {
  readonly #keys = new Map<string, KeySlots>();
  /**
   * With checkpoints: the keys whose slots were set since the last {@link takeChanges}
   * (each once: its `changed` flag says it is listed).
   */
  readonly #changed: KeySlots[] | null;

  /**
   * The slots last looked up: a keyed function reads and then sets the same key, and the
   * second lookup was a hash-table probe per record. Slots are never removed from `#keys`.
   */
  #last: KeySlots | undefined = undefined;

  constructor(options: { trackChanges?: boolean } = {}) {
    this.#changed = options.trackChanges === true ? [] : null;
  }

  get(key: string, name: string): Promise<unknown> {
    const value = this.read(key, name);
    return value === undefined ? DONE : Promise.resolve(value);
  }

  read(key: string, name: string): unknown {
    const slots = this.#slotsOf(key);
    return slots === undefined ? undefined : slots.get(name);
  }

  set(key: string, name: string, value: unknown): Promise<void> {
    this.write(key, name, value);
    return DONE;
  }

  write(key: string, name: string, value: unknown): void {
    let slots = this.#slotsOf(key);
    if (slots === undefined) {
      this.#keys.set(key, (slots = new KeySlots(key)));
      this.#last = slots;
    }
    slots.put(name, value);
    const changed = this.#changed;
    if (changed !== null && !slots.changed) {
      slots.changed = true;
      changed.push(slots);
    }
  }

  /**
   * The slots of every key set since the last call, as `[item key, value]` (`undefined`:
   * deleted; a key's slots that did not change come along, with the value they hold),
   * values as JSON would give them back — a function may go on mutating an object it set.
   */
  takeChanges(): Array<[string, unknown]> {
    const changed = this.#changed;
    if (changed === null || changed.length === 0) return [];
    const out: Array<[string, unknown]> = [];
    for (const slots of changed) {
      slots.changed = false;
      for (const [name, value] of slots.slots())
        out.push([
          slots.key + SEP + name,
          value === null || typeof value !== 'object'
            ? value
            : (JSON.parse(JSON.stringify(value)) as unknown),
        ]);
    }
    changed.length = 0;
    return out;
  }

  /** The slots of `key`, if it has any. */
  #slotsOf(key: string): KeySlots | undefined {
    const last = this.#last;
    if (last !== undefined && last.key === key) return last;
    const slots = this.#keys.get(key);
    if (slots !== undefined) this.#last = slots;
    return slots;
  }

  /** Forgets which keys changed (nothing will ask for those changes). */
  dropChanges(): void {
    const changed = this.#changed;
    if (changed === null) return;
    for (const slots of changed) slots.changed = false;
    changed.length = 0;
  }

  /** Loads state a checkpoint holds (`[item key, value]`), not counted as changes. */
  restore(items: ReadonlyArray<readonly [string, unknown]>): void {
    for (const [item, value] of items) {
      const at = item.lastIndexOf(SEP);
      const key = item.slice(0, at);
      let slots = this.#keys.get(key);
      if (slots === undefined) this.#keys.set(key, (slots = new KeySlots(key)));
      slots.put(item.slice(at + 1), value);
    }
  }

  /** Every slot held, as `[item key, value]` (values as JSON would give them back). */
  entries(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const [key, slots] of this.#keys)
      for (const [name, value] of slots.slots()) {
        // A deleted slot keeps its name with the value undefined: it holds nothing.
        if (value === undefined) continue;
        out.push([
          key + SEP + name,
          value === null || typeof value !== 'object'
            ? value
            : (JSON.parse(JSON.stringify(value)) as unknown),
        ]);
      }
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
    for (const slots of this.#keys.values()) if (slots.held) count++;
    return count;
  }
}
