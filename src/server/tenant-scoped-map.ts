/**
 * Keeps things per tenant so that looking up another tenant's id is, by
 * construction, the same miss as looking up an id that never existed: there is no
 * code path that reads across tenants, and therefore no check to forget.
 */
export class TenantScopedMap<T> {
  readonly #byTenant = new Map<string, Map<string, T>>();
  readonly #config: Readonly<{ maxPerTenant: number }>;

  /** `maxPerTenant` bounds memory; the oldest entries go first. */
  constructor(options: { maxPerTenant?: number } = {}) {
    this.#config = Object.freeze({ maxPerTenant: options.maxPerTenant ?? 1000 });
  }

  get(tenant: string, id: string): T | undefined {
    return this.#byTenant.get(tenant)?.get(id);
  }

  set(tenant: string, id: string, value: T): void {
    let entries = this.#byTenant.get(tenant);
    if (entries === undefined) {
      entries = new Map();
      this.#byTenant.set(tenant, entries);
    }
    entries.set(id, value);
    while (entries.size > this.#config.maxPerTenant) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  delete(tenant: string, id: string): boolean {
    return this.#byTenant.get(tenant)?.delete(id) ?? false;
  }

  /** One tenant's values, oldest first. */
  list(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])];
  }
}
