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
    measure: ((value: T) => number) | undefined;
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
      /** The size an entry is counted at in {@link bytes}; omitted: every entry is 0. */
      measure?: (value: T) => number;
    } = {},
  ) {
    this.#config = Object.freeze({
      maxPerTenant: options.maxPerTenant ?? 1000,
      persist: options.persist,
      measure: options.measure,
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

  #size(tenant: string, id: string, value: T | undefined): void {
    if (this.#config.measure === undefined) return;
    let sizes = this.#sizes.get(tenant);
    if (sizes === undefined) {
      sizes = new Map();
      this.#sizes.set(tenant, sizes);
    }
    const before = sizes.get(id) ?? 0;
    const after = value === undefined ? 0 : this.#config.measure(value);
    if (value === undefined) sizes.delete(id);
    else sizes.set(id, after);
    this.#totals.set(tenant, (this.#totals.get(tenant) ?? 0) - before + after);
  }

  /** Puts back an entry read from storage, without telling `persist`. */
  restore(tenant: string, id: string, value: T): void {
    this.#put(tenant, id, value);
  }

  get(tenant: string, id: string): T | undefined {
    return this.#byTenant.get(tenant)?.get(id);
  }

  set(tenant: string, id: string, value: T): void {
    this.#config.persist?.set(tenant, id, value);
    this.#put(tenant, id, value);
  }

  #put(tenant: string, id: string, value: T): void {
    let entries = this.#byTenant.get(tenant);
    if (entries === undefined) {
      entries = new Map();
      this.#byTenant.set(tenant, entries);
    }
    entries.set(id, value);
    this.#size(tenant, id, value);
    while (entries.size > this.#config.maxPerTenant) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
      this.#size(tenant, oldest, undefined);
      this.#config.persist?.delete(tenant, oldest);
    }
  }

  delete(tenant: string, id: string): boolean {
    this.#config.persist?.delete(tenant, id);
    this.#size(tenant, id, undefined);
    return this.#byTenant.get(tenant)?.delete(id) ?? false;
  }

  /** One tenant's values, oldest first. */
  list(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])];
  }
}

/** Where a {@link TenantScopedMap} writes through to. */
export interface PersistHooks<T> {
  set(tenant: string, id: string, value: T): void;
  delete(tenant: string, id: string): void;
}
