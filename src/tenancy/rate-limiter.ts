import { QuotaExceededError, type Quotas } from './quotas.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per tenant (`requests_per_second` refill, `request_burst`
 * capacity). A tenant that floods runs its own bucket dry and gets cheap 429s,
 * while every other tenant's bucket is untouched: per-tenant fairness without a
 * shared queue.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  /** `now` in milliseconds; injectable so tests need not wait. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Takes `cost` tokens for `tenantId` or throws 429 `requests_per_second`. Costly
   * requests (a flow to parse and infer, a run to start) take more than a read, so
   * the quota bounds the work a tenant causes, not only its request count.
   */
  take(
    tenantId: string,
    quotas: Pick<Quotas, 'requests_per_second' | 'request_burst'>,
    cost = 1,
  ): void {
    const now = this.#now();
    const capacity = Math.max(1, quotas.request_burst);
    const bucket = this.#buckets.get(tenantId) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((now - bucket.at) / 1000) * quotas.requests_per_second,
    );
    bucket.at = now;
    this.#buckets.set(tenantId, bucket);
    // A cost above the burst could never be paid; cap it so such a request is merely slow to earn.
    const needed = Math.min(cost, capacity);
    if (bucket.tokens < needed) {
      const retryAfter = Math.ceil(
        (needed - bucket.tokens) / Math.max(quotas.requests_per_second, 1e-9),
      );
      throw new QuotaExceededError(
        'requests_per_second',
        quotas.requests_per_second,
        quotas.requests_per_second + 1,
        {
          retryAfter,
        },
      );
    }
    bucket.tokens -= needed;
  }
}

/** Quotas that count things in flight per tenant. */
type InFlightQuota = 'concurrent_executions' | 'concurrent_requests';

/**
 * Counts each tenant's things in flight (runs, or requests being handled) against
 * one quota. `acquire` throws 429 naming that quota when full and otherwise
 * returns the release function.
 */
export class InFlightSlots {
  readonly #running = new Map<string, number>();
  readonly #quota: InFlightQuota;

  constructor(quota: InFlightQuota) {
    this.#quota = quota;
  }

  /** How many a tenant has in flight. */
  running(tenantId: string): number {
    return this.#running.get(tenantId) ?? 0;
  }

  /** Claims a slot or throws 429; call the result exactly once when done (later calls do nothing). */
  acquire(tenantId: string, quotas: Pick<Quotas, InFlightQuota>): () => void {
    const running = this.running(tenantId);
    const limit = quotas[this.#quota];
    if (running + 1 > limit) throw new QuotaExceededError(this.#quota, limit, running + 1);
    this.#running.set(tenantId, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.running(tenantId) - 1;
      if (left <= 0) this.#running.delete(tenantId);
      else this.#running.set(tenantId, left);
    };
  }
}

/** Runs in flight per tenant against `concurrent_executions`. */
export class ExecutionSlots extends InFlightSlots {
  constructor() {
    super('concurrent_executions');
  }
}
