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
});
