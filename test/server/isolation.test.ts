import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { makeHarness } from './harness.js';

/**
 * Tenant B owns one of everything; tenant A probes every tenant-scoped endpoint
 * with B's ids, ids that never existed and random strings. A must get exactly the
 * answer a missing id gets, its lists must hold nothing of B's, and B's things
 * must be unchanged afterwards.
 */
describe('server: tenant isolation', () => {
  it('tenant A never reads, lists or changes anything of tenant B', async () => {
    const h = makeHarness();
    // A generous rate quota: this test is about isolation, not about shedding.
    const a = await h.tenant('a', { request_burst: 100_000 });
    const b = await h.tenant('b');
    const bFlow = await h.flow(b.key);
    const bProfile = (
      await h.call('POST', '/v1/profiles', b.key, { flow_id: bFlow, records: [{ x: 1 }] })
    ).json.id as string;
    const bPool = (await h.call('POST', '/v1/pools', b.key, { flow_id: bFlow })).json.id as string;
    const bRun = (await h.call('POST', '/v1/executions?wait=true', b.key, { flow_id: bFlow })).json
      .id as string;
    const aFlow = await h.flow(a.key);
    const bIds = [bFlow, bProfile, bPool, bRun];
    const snapshot = async () =>
      JSON.stringify(
        await Promise.all(
          [
            '/v1/flows',
            '/v1/pools',
            '/v1/executions',
            '/v1/history',
            `/v1/flows/${bFlow}`,
            `/v1/profiles/${bProfile}`,
            `/v1/pools/${bPool}`,
            `/v1/executions/${bRun}`,
          ].map(async (p) => (await h.call('GET', p, b.key)).json),
        ),
      ).replace(/"at":"[^"]+"/g, '');
    const before = await snapshot();

    type Probe = { method: string; path: (id: string) => string; body?: (id: string) => unknown };
    const probes: Probe[] = [
      { method: 'GET', path: (id) => `/v1/flows/${id}` },
      { method: 'POST', path: (id) => `/v1/flows/${id}/predict`, body: () => ({}) },
      {
        method: 'POST',
        path: () => `/v1/flows/${aFlow}/predict`,
        body: (id) => ({ profile_id: id }),
      },
      { method: 'GET', path: (id) => `/v1/profiles/${id}` },
      {
        method: 'POST',
        path: () => '/v1/profiles',
        body: (id) => ({ flow_id: id, records: [{ y: 1 }] }),
      },
      { method: 'GET', path: (id) => `/v1/pools/${id}` },
      { method: 'DELETE', path: (id) => `/v1/pools/${id}` },
      { method: 'POST', path: () => '/v1/pools', body: (id) => ({ flow_id: id }) },
      {
        method: 'POST',
        path: () => '/v1/pools',
        body: (id) => ({ flow_id: aFlow, profile_id: id }),
      },
      { method: 'GET', path: (id) => `/v1/executions/${id}` },
      { method: 'POST', path: () => '/v1/executions', body: (id) => ({ flow_id: id }) },
      {
        method: 'POST',
        path: () => '/v1/executions',
        body: (id) => ({ flow_id: aFlow, profile_id: id }),
      },
    ];
    const id = fc.oneof(
      fc.constantFrom(...bIds),
      fc.constantFrom('f_000000000000', 'p_000000000000', 'pool_999', 'x_000000000000'),
      fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/),
    );
    const missing = 'missing_id_zz';

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...probes), id, async (probe, probeId) => {
        const res = await h.call(probe.method, probe.path(probeId), a.key, probe.body?.(probeId));
        const control = await h.call(
          probe.method,
          probe.path(missing),
          a.key,
          probe.body?.(missing),
        );
        expect(res.status).toBe(404);
        expect(res.text).toBe(control.text.replaceAll(missing, probeId));
      }),
      { numRuns: 150 },
    );

    for (const list of [
      '/v1/flows',
      '/v1/pools',
      '/v1/executions',
      '/v1/history',
      '/v1/pools/timeline',
    ]) {
      const text = (await h.call('GET', list, a.key)).text;
      for (const bid of [...bIds, b.id]) expect(text).not.toContain(bid);
    }
    expect(await snapshot()).toBe(before);
  });
});
