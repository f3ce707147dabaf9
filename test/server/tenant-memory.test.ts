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

  it('a run’s report is charged as it grows: long strings and lists are cut, older finished records evicted, then the completion kept short', async () => {
    const h = makeHarness();
    const base = h.executor.execute.bind(h.executor);
    // A user function's error: a 2 MB message and stack, and 5,000 resource events.
    h.executor.execute = async (input) => {
      const status = await base(input);
      status.nodes[1].first_error = {
        type: 'Error',
        message: 'm'.repeat(2_000_000),
        stack: 's'.repeat(2_000_000),
      };
      status.events = Array.from({ length: 5_000 }, (_, i) => ({
        node_id: 'enrich',
        event: 'oom_killed' as const,
        resource_id: `r${i}`,
        detail: 'killed',
      }));
      return status;
    };
    const a = await h.tenant('a', { memory_bytes: 1024 * 1024 });
    const flow = await h.flow(a.key);
    const first = await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flow });
    expect(first.status).toBe(200);
    const kept = (await h.call('GET', `/v1/executions/${first.json.id}`, a.key)).json;
    const error = kept.completion.nodes[1].first_error;
    expect(error.message.length).toBeLessThan(9_000);
    expect(error.message).toContain('more characters not kept');
    expect(kept.completion.events).toHaveLength(200);
    const oneRun = h.state.executions.bytes(a.id);
    expect(oneRun).toBeLessThan(100_000);

    // Room for about two such records: the third's report evicts the oldest finished one.
    const flowBytes = h.state.flows.bytes(a.id);
    const b = await h.tenant('b', { memory_bytes: flowBytes + Math.floor(2.5 * oneRun) });
    const bFlow = await h.flow(b.key);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await h.call('POST', '/v1/executions?wait=true', b.key, { flow_id: bFlow });
      expect([run.status, run.json.status, run.json.trimmed]).toEqual([
        200,
        'succeeded',
        undefined,
      ]);
      ids.push(run.json.id);
    }
    expect(h.state.executions.list(b.id).map((e) => e.id)).toEqual(ids.slice(1));
    expect((await h.call('GET', `/v1/executions/${ids[0]}`, b.key)).status).toBe(404);
    expect(h.state.flows.bytes(b.id) + h.state.executions.bytes(b.id)).toBeLessThanOrEqual(
      flowBytes + Math.floor(2.5 * oneRun),
    );

    // Room for the accepted record but not its full report: kept short, saying so.
    const c = await h.tenant('c', { memory_bytes: flowBytes + 20_000 });
    const cFlow = await h.flow(c.key);
    const short = await h.call('POST', '/v1/executions?wait=true', c.key, { flow_id: cFlow });
    expect([short.status, short.json.status, short.json.completion.nodes]).toEqual([
      200,
      'succeeded',
      [],
    ]);
    expect(short.json.trimmed).toContain('memory_bytes');
    expect(h.state.flows.bytes(c.id) + h.state.executions.bytes(c.id)).toBeLessThanOrEqual(
      flowBytes + 20_000,
    );
  });
});
