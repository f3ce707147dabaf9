import { describe, expect, it } from 'vitest';
import { FLOW_YAML, makeHarness } from './harness.js';

describe('server: what a tenant holds in memory is bounded by its memory_bytes quota', () => {
  it('refuses a flow over the quota with 429 naming only the tenant’s own quota, and frees room on delete', async () => {
    const h = makeHarness();
    const probe = await h.tenant('probe');
    await h.flow(probe.key);
    // One flow's stored JSON, as the server counts it.
    const one = h.state.flows.bytes(probe.id);
    expect(one).toBeGreaterThan(100);

    const quota = 2 * one + 10;
    const a = await h.tenant('a', { memory_bytes: quota });
    const other = await h.tenant('other', { memory_bytes: 10 * one });
    const first = await h.flow(a.key);
    await h.flow(a.key);
    expect(h.state.flows.bytes(a.id)).toBe(2 * one);

    const third = await h.call('POST', '/v1/flows', a.key, FLOW_YAML, 'application/yaml');
    expect(third.status).toBe(429);
    expect(third.json.error.quota).toBe('memory_bytes');
    expect(third.json.error.limit).toBe(quota);
    expect(third.text).not.toContain(String(10 * one));
    expect(h.state.flows.list(a.id)).toHaveLength(2);

    // Another tenant is not charged for it.
    await h.flow(other.key);

    expect((await h.call('DELETE', `/v1/flows/${first}`, a.key)).status).toBeLessThan(300);
    expect(h.state.flows.bytes(a.id)).toBe(one);
    await h.flow(a.key);
  });

  it('refuses an execution or a profile over the quota, keeps no record of it and frees its run slot', async () => {
    const h = makeHarness();
    const probe = await h.tenant('probe');
    await h.flow(probe.key);
    const one = h.state.flows.bytes(probe.id);

    // Room for the flow and a little more: not for an execution record nor a profile.
    const a = await h.tenant('a', { memory_bytes: one + 50, concurrent_executions: 1 });
    const flow = await h.flow(a.key);
    for (let i = 0; i < 2; i++) {
      // Twice: a refused run must not keep the only run slot (that would be concurrent_executions).
      const run = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
      expect([run.status, run.json.error.quota]).toEqual([429, 'memory_bytes']);
    }
    expect(h.state.executions.list(a.id)).toEqual([]);
    const profile = await h.call('POST', '/v1/profiles', a.key, {
      records: [{ user: 'u1', n: 1 }],
    });
    expect([profile.status, profile.json.error.quota]).toEqual([429, 'memory_bytes']);
    expect(h.state.profiles.list(a.id)).toEqual([]);
    expect(h.state.flows.bytes(a.id) + h.state.executions.bytes(a.id)).toBe(one);
  });
});
