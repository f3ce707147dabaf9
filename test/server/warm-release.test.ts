import { describe, expect, it } from 'vitest';
import { WarmflowError } from '../../src/errors.js';
import { withIdleWarmReleased } from '../../src/server/parts/local-parts.js';
import type { PoolStatus } from '../../src/provision/pool/warm-pool.js';
import { makeHarness } from './harness.js';

function pool(tenant: string, template: string, expires: string, claimed = 0): PoolStatus {
  return {
    tenant,
    template,
    target_sets: 1,
    keep_alive_ms: 60_000,
    ready_sets: 1 - claimed,
    warming_sets: 0,
    claimed_sets: claimed,
    expires_at: expires,
    expired: false,
    last_error: null,
    held: { cpu_cores: 1, memory_gb: 0.5, resources: 1 },
    sets: [],
  };
}

describe('warm capacity never blocks real work', () => {
  it('a run short of machine capacity releases idle pools, least useful first, never claimed ones or its own', async () => {
    const pools = [
      pool('b', 'late', '2026-01-01T00:10:00Z'),
      pool('b', 'busy', '2026-01-01T00:00:00Z', 1),
      pool('a', 'mine', '2026-01-01T00:00:00Z'),
      pool('c', 'early', '2026-01-01T00:05:00Z'),
    ];
    const downs: string[] = [];
    const service = {
      status: () => pools.filter((p) => !downs.includes(p.template)),
      down: async (filter: { tenant?: string; template?: string }) => {
        downs.push(filter.template!);
        return 1;
      },
    };
    let attempts = 0;
    const result = await withIdleWarmReleased(service, 'a', 'mine', async () => {
      attempts++;
      if (downs.length < 2) throw new WarmflowError('E_CAPACITY', 'no cores');
      return 'ran';
    });
    expect([result, attempts, downs]).toEqual(['ran', 3, ['early', 'late']]);
    // Nothing idle left to release: the run's own error stands.
    await expect(
      withIdleWarmReleased(service, 'a', 'mine', () =>
        Promise.reject(new WarmflowError('E_CAPACITY', 'still no cores')),
      ),
    ).rejects.toMatchObject({ code: 'E_CAPACITY' });
    expect(downs).toEqual(['early', 'late']);
  });

  it("a run over the tenant's quota releases the tenant's idle pool of another flow, then runs", async () => {
    const h = makeHarness({ cores: 1, memoryGb: 0.25 });
    const a = await h.tenant('a', { cores: 2 });
    const other = await h.flow(a.key);
    const flow = await h.flow(a.key);
    expect((await h.call('POST', '/v1/pools', a.key, { flow_id: other })).status).toBe(201);
    const run = await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flow });
    expect([run.status, run.json.status]).toEqual([200, 'succeeded']);
    expect((await h.call('GET', '/v1/pools', a.key)).json.pools).toEqual([]);
  });
});
