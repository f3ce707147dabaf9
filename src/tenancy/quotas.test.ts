import os from 'node:os';
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_QUOTAS,
  QuotaExceededError,
  enforceBodySize,
  enforceConcurrency,
  enforceResources,
} from './quotas.js';
import { ExecutionSlots, RateLimiter } from './rate-limiter.js';

function caught(fn: () => void): QuotaExceededError {
  try {
    fn();
  } catch (error) {
    if (error instanceof QuotaExceededError) return error;
    throw error;
  }
  throw new Error('expected a QuotaExceededError');
}

describe('quota enforcement', () => {
  const quotas = {
    ...DEFAULT_QUOTAS,
    cores: 4,
    memory_gb: 8,
    warm_resources: 2,
    concurrent_executions: 1,
    max_body_bytes: 100,
  };

  it('body size → 413 max_body_bytes', () => {
    expect(() => enforceBodySize(quotas, 100)).not.toThrow();
    const e = caught(() => enforceBodySize(quotas, 101));
    expect([e.status, e.quota, e.limit, e.requested]).toEqual([413, 'max_body_bytes', 100, 101]);
  });

  it('resources → 429 naming the first quota exceeded', () => {
    const held = { cores: 3, memory_gb: 4, warm_resources: 1 };
    expect(() =>
      enforceResources(quotas, held, { cores: 1, memory_gb: 4, warm_resources: 1 }),
    ).not.toThrow();
    expect(
      caught(() => enforceResources(quotas, held, { cores: 2, memory_gb: 1, warm_resources: 1 }))
        .quota,
    ).toBe('cores');
    expect(
      caught(() => enforceResources(quotas, held, { cores: 0, memory_gb: 5, warm_resources: 0 }))
        .quota,
    ).toBe('memory_gb');
    const e = caught(() =>
      enforceResources(quotas, held, { cores: 0, memory_gb: 0, warm_resources: 2 }),
    );
    expect([e.status, e.quota, e.toJSON().quota]).toEqual([
      429,
      'warm_resources',
      'warm_resources',
    ]);
  });

  it('concurrency → 429 concurrent_executions, released slots are reusable', () => {
    expect(() => enforceConcurrency(quotas, 0)).not.toThrow();
    expect(caught(() => enforceConcurrency(quotas, 1)).quota).toBe('concurrent_executions');
    const slots = new ExecutionSlots();
    const release = slots.acquire('a', quotas);
    expect(caught(() => slots.acquire('a', quotas)).status).toBe(429);
    const other = slots.acquire('b', quotas);
    release();
    release();
    expect(slots.running('a')).toBe(0);
    slots.acquire('a', quotas);
    other();
    expect(slots.running('b')).toBe(0);
  });

  it('rate: a tenant that empties its bucket is refused; another tenant is not', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const q = { requests_per_second: 10, request_burst: 3 };
    for (let i = 0; i < 3; i++) limiter.take('flood', q);
    const e = caught(() => limiter.take('flood', q));
    expect([e.status, e.quota, e.retryAfter]).toEqual([429, 'requests_per_second', 1]);
    expect(() => limiter.take('quiet', q)).not.toThrow();
    now += 100; // one token refilled at 10/s
    expect(() => limiter.take('flood', q)).not.toThrow();
    expect(() => limiter.take('flood', q)).toThrow(QuotaExceededError);
  });

  it('rate: a costly request takes more tokens than a read', () => {
    const limiter = new RateLimiter(() => 0);
    const q = { requests_per_second: 10, request_burst: 20 };
    limiter.take('t', q, 10);
    limiter.take('t', q, 10);
    expect(caught(() => limiter.take('t', q, 10)).quota).toBe('requests_per_second');
    expect(caught(() => limiter.take('t', q, 1)).quota).toBe('requests_per_second');
  });

  it('default quotas fit the machine: never more cores or memory than it has', () => {
    expect(DEFAULT_QUOTAS.cores).toBeLessThanOrEqual(os.availableParallelism());
    expect(DEFAULT_QUOTAS.memory_gb).toBeLessThanOrEqual(os.totalmem() / 2 ** 30);
    expect(DEFAULT_QUOTAS.cores).toBeGreaterThan(0);
  });
});
