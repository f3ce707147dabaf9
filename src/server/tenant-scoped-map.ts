/**
 * Keeps things per tenant so that looking up another tenant's id is, by
 * construction, the same miss as looking up an id that never existed: there is no
 * code path that reads across tenants, and therefore no check to forget.
 */
export class TenantScopedMap<T> {
  readonly #byTenant = new Map<string, Map<string, T>>();
  readonly #config: Readonly<{
    maxPerTenant: number;
    persist: PersistHooks<T> | undefined;
    encode: ((value: T) => string) | undefined;
  }>;
  /** Size of each entry (by `measure`) and each tenant's total, kept as entries come and go. */
  readonly #sizes = new Map<string, Map<string, number>>();
  readonly #totals = new Map<string, number>();

  /**
   * `maxPerTenant` bounds memory; the oldest entries go first. `persist` is told of
   * every set and delete (evictions included), so the map can be rebuilt after a restart.
   */
  constructor(
    options: {
      maxPerTenant?: number;
      persist?: PersistHooks<T>;
      /**
       * An entry's stored form (its JSON): its length is what the entry is counted at in
       * {@link bytes}, and `persist` is given it, so a value is encoded once per set.
       * Omitted: every entry counts 0.
       */
      encode?: (value: T) => string;
    } = {},
  ) {
    this.#config = Object.freeze({
      maxPerTenant: options.maxPerTenant ?? 1000,
      persist: options.persist,
      encode: options.encode,
    });
  }

  /** What one tenant's entries hold, by `measure`. */
  bytes(tenant: string): number {
    return this.#totals.get(tenant) ?? 0;
  }

  /** What one entry is counted at, by `measure` (0 when absent). */
  sizeOf(tenant: string, id: string): number {
    return this.#sizes.get(tenant)?.get(id) ?? 0;
  }

  #size(tenant: string, id: string, encoded: string | undefined): void {
    if (this.#config.encode === undefined) return;
    let sizes = this.#sizes.get(tenant);
    if (sizes === undefined) {
      sizes = new Map();
      this.#sizes.set(tenant, sizes);
    }
    const before = sizes.get(id) ?? 0;
    const after = encoded === undefined ? 0 : encoded.length;
    if (encoded === undefined) sizes.delete(id);
    else sizes.set(id, after);
    this.#totals.set(tenant, (this.#totals.get(tenant) ?? 0) - before + after);
  }

  /** Puts back an entry read from storage, without telling `persist`. */
  restore(tenant: string, id: string, value: T): void {
    this.#put(tenant, id, value, this.#config.encode?.(value));
  }

  get(tenant: string, id: string): T | undefined {
    return this.#byTenant.get(tenant)?.get(id);
  }

  /**
   * Sets an entry; the promise settles when `persist` has stored it (at once without
   * `persist`). A route awaits it before it answers; its failure is also `persist`'s to report.
   * `encoded` is the value's stored form when the caller has already made it.
   */
  set(
    tenant: string,
    id: string,
    value: T,
    encoded: string | undefined = this.#config.encode?.(value),
  ): Promise<void> {
    const stored = this.#config.persist?.set(tenant, id, value, encoded) ?? Promise.resolve();
    this.#put(tenant, id, value, encoded);
    return stored;
  }

  #put(tenant: string, id: string, value: T, encoded: string | undefined): void {
    let entries = this.#byTenant.get(tenant);
    if (entries === undefined) {
      entries = new Map();
      this.#byTenant.set(tenant, entries);
    }
    entries.set(id, value);
    this.#size(tenant, id, encoded);
    while (entries.size > this.#config.maxPerTenant) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
      this.#size(tenant, oldest, undefined);
      void this.#config.persist?.delete(tenant, oldest);
    }
  }

  /** Deletes an entry; resolves, once `persist` has deleted it too, to whether it was there. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const stored = this.#config.persist?.delete(tenant, id);
    this.#size(tenant, id, undefined);
    const existed = this.#byTenant.get(tenant)?.delete(id) ?? false;
    await stored;
    return existed;
  }

  /** One tenant's values, oldest first. */
  list(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])];
  }
}

/** Where a {@link TenantScopedMap} writes through to. */
export interface PersistHooks<T> {
  /** Stores a value (`encoded`: its stored form, when the map has one); settles once stored. */
  set(tenant: string, id: string, value: T, encoded: string | undefined): Promise<void>;
  /** Deletes a value; settles once deleted. */
  delete(tenant: string, id: string): Promise<void>;
}
