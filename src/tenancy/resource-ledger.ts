import type { ResourceAmount } from './quotas.js';

const ZERO: ResourceAmount = Object.freeze({ cores: 0, memory_gb: 0, warm_resources: 0 });

/** Adds resource amounts. */
export function addAmounts(...amounts: ResourceAmount[]): ResourceAmount {
  return amounts.reduce<ResourceAmount>(
    (sum, a) => ({
      cores: sum.cores + a.cores,
      memory_gb: sum.memory_gb + a.memory_gb,
      warm_resources: sum.warm_resources + a.warm_resources,
    }),
    ZERO,
  );
}

/**
 * What each tenant's runs in flight hold on demand, and one admission at a time per
 * tenant. Quotas are checked against what pools hold plus what is reserved here, inside
 * {@link ResourceLedger.exclusive}: two concurrent requests of one tenant are admitted
 * one after the other, so neither can read "held" before the other's resources count.
 */
export class ResourceLedger {
  readonly #reserved = new Map<string, Map<number, ResourceAmount>>();
  readonly #queues = new Map<string, Promise<unknown>>();
  #next = 0;

  /** Runs `admit` once every earlier admission of `tenant` has finished. */
  async exclusive<T>(tenant: string, admit: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(tenant) ?? Promise.resolve();
    const mine = before.then(admit, admit);
    const tail = mine.catch(() => undefined);
    this.#queues.set(tenant, tail);
    try {
      return await mine;
    } finally {
      if (this.#queues.get(tenant) === tail) this.#queues.delete(tenant);
    }
  }

  /** What `tenant`'s runs in flight hold on demand. */
  reserved(tenant: string): ResourceAmount {
    return addAmounts(...(this.#reserved.get(tenant)?.values() ?? []));
  }

  /** Counts `amount` against `tenant` until the returned release is called (idempotent). */
  reserve(tenant: string, amount: ResourceAmount): () => void {
    const id = this.#next++;
    let entries = this.#reserved.get(tenant);
    if (entries === undefined) {
      entries = new Map();
      this.#reserved.set(tenant, entries);
    }
    entries.set(id, amount);
    return () => {
      const current = this.#reserved.get(tenant);
      current?.delete(id);
      if (current?.size === 0) this.#reserved.delete(tenant);
    };
  }
}
