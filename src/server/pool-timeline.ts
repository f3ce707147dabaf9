import type { PoolView } from './ports.js';

/** One sample of a tenant's warm pools. */
export interface PoolSample {
  at: string;
  ready: number;
  claimed: number;
  /** Nodes that ran on on-demand resources so far (cumulative). */
  cold_fallbacks: number;
}

/**
 * A short history of each tenant's pool sizes, for the dashboard's "warm pool
 * over time" chart. Bounded per tenant; samples are taken when pools change, when
 * runs start and end, and by the server's sampler while anything is live.
 */
export class PoolTimeline {
  readonly #samples = new Map<string, PoolSample[]>();
  readonly #fallbacks = new Map<string, number>();
  readonly #config: Readonly<{ maxSamples: number }>;

  constructor(options: { maxSamples?: number } = {}) {
    this.#config = Object.freeze({ maxSamples: options.maxSamples ?? 600 });
  }

  /** Adds on-demand fallbacks observed in a finished run. */
  addFallbacks(tenant: string, count: number): void {
    this.#fallbacks.set(tenant, (this.#fallbacks.get(tenant) ?? 0) + count);
  }

  /** Records the tenant's pools as they are now. */
  sample(tenant: string, pools: readonly PoolView[]): PoolSample {
    let ready = 0;
    let claimed = 0;
    for (const pool of pools) {
      for (const rac of pool.resources) {
        if (rac.status === 'ready') ready++;
        else if (rac.status === 'claimed') claimed++;
      }
    }
    const sample = {
      at: new Date().toISOString(),
      ready,
      claimed,
      cold_fallbacks: this.#fallbacks.get(tenant) ?? 0,
    };
    const samples = this.#samples.get(tenant) ?? [];
    samples.push(sample);
    if (samples.length > this.#config.maxSamples)
      samples.splice(0, samples.length - this.#config.maxSamples);
    this.#samples.set(tenant, samples);
    return sample;
  }

  /** Tenants with any samples (the sampler keeps their charts moving). */
  tenants(): string[] {
    return [...this.#samples.keys()];
  }

  /** A tenant's samples, oldest first. */
  samples(tenant: string): PoolSample[] {
    return [...(this.#samples.get(tenant) ?? [])];
  }
}
