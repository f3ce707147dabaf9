import { describe, it, expect } from 'vitest';
import { FLOW_YAML, makeHarness } from './harness.js';

/** The same flow under another template name (a template has one pool). */
const named = (name: string) => FLOW_YAML.replace('name: clicks', `name: ${name}`);

/** One test per quota: exceeding it is a 429 or 413 naming it, and other tenants are untouched. */
describe('server: quotas', () => {
  it('cores: a pool needing more cores than the quota is a 429 naming "cores"', async () => {
    const h = makeHarness({ cores: 2, memoryGb: 0.25 });
    const a = await h.tenant('a', { cores: 3 });
    const flow = await h.flow(a.key);
    const res = await h.call('POST', '/v1/pools', a.key, { flow_id: flow });
    expect([res.status, res.json.error.quota]).toEqual([429, 'cores']);
    expect((await h.call('GET', '/v1/pools', a.key)).json.pools).toEqual([]);
    const b = await h.tenant('b');
    expect(
      (await h.call('POST', '/v1/pools', b.key, { flow_id: await h.flow(b.key) })).status,
    ).toBe(201);
  });

  it('memory_gb: held plus requested memory beyond the quota is a 429 naming "memory_gb"', async () => {
    const h = makeHarness({ cores: 0.5, memoryGb: 2 });
    const a = await h.tenant('a', { memory_gb: 6 });
    const flow = await h.flow(a.key);
    expect((await h.call('POST', '/v1/pools', a.key, { flow_id: flow })).status).toBe(201);
    // Asking again for the same template replaces its pool: not counted twice.
    expect((await h.call('POST', '/v1/pools', a.key, { flow_id: flow })).status).toBe(201);
    const other = await h.flow(a.key, named('other'));
    const res = await h.call('POST', '/v1/pools', a.key, { flow_id: other });
    expect([res.status, res.json.error.quota, res.json.error.limit]).toEqual([429, 'memory_gb', 6]);
  });

  it('warm_resources: more warm resources than allowed is a 429 naming "warm_resources"', async () => {
    const h = makeHarness({ cores: 0.5, memoryGb: 0.25 });
    const a = await h.tenant('a', { warm_resources: 2 });
    const flow = await h.flow(a.key);
    const rpr = (node_id: string) => ({
      node_id,
      resource_type: 'CPU',
      cpu_cores: 0.5,
      memory_gb: 0.25,
      gpu_enabled: false,
      data_store_instance: null,
    });
    expect(
      (
        await h.call('POST', '/v1/pools', a.key, {
          flow_id: flow,
          rprs: [rpr('enrich'), rpr('count')],
        })
      ).status,
    ).toBe(201);
    const other = await h.flow(a.key, named('other'));
    const res = await h.call('POST', '/v1/pools', a.key, {
      flow_id: other,
      rprs: [rpr('enrich')],
    });
    expect([res.status, res.json.error.quota]).toEqual([429, 'warm_resources']);
  });

  it('concurrent_executions: a run beyond the quota is a 429 while others run; freed when they end', async () => {
    const h = makeHarness({ cores: 0.5, memoryGb: 0.25 });
    const a = await h.tenant('a', { concurrent_executions: 1 });
    const b = await h.tenant('b', { concurrent_executions: 1 });
    const flow = await h.flow(a.key);
    let open!: () => void;
    h.executor.gate = new Promise<void>((resolve) => (open = resolve));
    const first = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
    expect([first.status, first.json.status]).toEqual([202, 'running']);
    const second = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
    expect([second.status, second.json.error.quota]).toEqual([429, 'concurrent_executions']);
    expect(
      (await h.call('POST', '/v1/executions', b.key, { flow_id: await h.flow(b.key) })).status,
    ).toBe(202);
    open();
    await Promise.all([...h.state.running]);
    h.executor.gate = undefined;
    expect((await h.call('GET', `/v1/executions/${first.json.id}`, a.key)).json.status).toBe(
      'succeeded',
    );
    expect((await h.call('POST', '/v1/executions', a.key, { flow_id: flow })).status).toBe(202);
  });

  it('max_body_bytes: a body over the quota is a 413 naming "max_body_bytes", with or without a length', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { max_body_bytes: 200 });
    const big = { records: Array.from({ length: 50 }, (_, i) => ({ i })) };
    const res = await h.call('POST', '/v1/profiles', a.key, big);
    expect([res.status, res.json.error.quota]).toEqual([413, 'max_body_bytes']);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify(big)));
        controller.close();
      },
    });
    // Node's fetch needs `duplex` for a stream body; DOM's RequestInit does not know it.
    const init: RequestInit & { duplex: 'half' } = {
      method: 'POST',
      headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    };
    const streamed = await h.app.request('/v1/profiles', init);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { quota: string } }).error.quota).toBe(
      'max_body_bytes',
    );
    expect((await h.call('POST', '/v1/profiles', a.key, { records: [{ i: 1 }] })).status).toBe(201);
  });

  it('requests_per_second: a tenant that floods is shed with 429 and Retry-After; others are not', async () => {
    const h = makeHarness();
    const flood = await h.tenant('flood', { requests_per_second: 1, request_burst: 5 });
    const quiet = await h.tenant('quiet');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await h.call('GET', '/v1/flows', flood.key)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const shed = await h.call('GET', '/v1/flows', flood.key);
    expect(shed.json.error.quota).toBe('requests_per_second');
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await h.call('GET', '/v1/flows', quiet.key)).status).toBe(200);
  });

  it('concurrent_requests: requests beyond the in-flight quota are a 429; the slots come back', async () => {
    const h = makeHarness({ cores: 0.5, memoryGb: 0.25 });
    const a = await h.tenant('a', { concurrent_requests: 2, concurrent_executions: 4 });
    const flow = await h.flow(a.key);
    let open!: () => void;
    h.executor.gate = new Promise<void>((resolve) => (open = resolve));
    const waiting = [
      h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flow }),
      h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flow }),
    ];
    while (h.state.running.size < 2) await new Promise((r) => setTimeout(r, 5));
    const third = await h.call('GET', '/v1/flows', a.key);
    expect([third.status, third.json.error.quota]).toEqual([429, 'concurrent_requests']);
    const b = await h.tenant('b');
    expect((await h.call('GET', '/v1/flows', b.key)).status).toBe(200);
    open();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200]);
    h.executor.gate = undefined;
    expect((await h.call('GET', '/v1/flows', a.key)).status).toBe(200);
  });

  it('on-demand runs in flight count against each other (cores)', async () => {
    // enrich and count are connected: one group of two 1-core nodes, 2 cores a run.
    const h = makeHarness({ cores: 1, memoryGb: 0.25 });
    const a = await h.tenant('a', { cores: 2, warm_resources: 3, concurrent_executions: 4 });
    const flow = await h.flow(a.key);
    let open!: () => void;
    h.executor.gate = new Promise<void>((resolve) => (open = resolve));
    const first = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
    expect(first.status).toBe(202);
    const second = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
    expect([second.status, second.json.error.quota]).toEqual([429, 'cores']);
    open();
    await Promise.all([...h.state.running]);
    h.executor.gate = undefined;
    expect(
      (await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flow })).status,
    ).toBe(200);
  });

  it('resources are charged per group after rounding: five 0.01-core nodes sharing a worker hold a whole core', async () => {
    const h = makeHarness({ cores: 0.01, memoryGb: 0.01 });
    // The five functions read one stream: one group, whose merged request rounds up to 1 core.
    const a = await h.tenant('a', { cores: 0.5 });
    const five = Array.from(
      { length: 5 },
      (_, i) => `  - { name: f${i}, input: [Click], output: [O${i}] }`,
    ).join('\n');
    const flow = await h.flow(
      a.key,
      `name: five\nstreams:\n  clicks: { type: Click }\nfunctions:\n${five}\n`,
    );
    const pool = await h.call('POST', '/v1/pools', a.key, { flow_id: flow });
    expect([pool.status, pool.json.error?.quota]).toEqual([429, 'cores']);
    const run = await h.call('POST', '/v1/executions', a.key, { flow_id: flow });
    expect([run.status, run.json.error?.quota]).toEqual([429, 'cores']);
  });

  it('quotas hold under concurrent requests: 10 pools at once, room for 2', async () => {
    const h = makeHarness({ cores: 1, memoryGb: 0.25 });
    h.pools.delayMs = 20;
    const a = await h.tenant('a', { cores: 4, concurrent_requests: 20, request_burst: 1000 });
    const flows = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.flow(a.key, named(`t${i}`))),
    );
    const answers = await Promise.all(
      flows.map((flow) => h.call('POST', '/v1/pools', a.key, { flow_id: flow })),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(2);
    expect(answers.filter((r) => r.status === 429).map((r) => r.json.error.quota)).toEqual(
      Array(8).fill('cores'),
    );
    const held = (await h.call('GET', '/v1/pools', a.key)).json.pools.reduce(
      (sum: number, p: { held: { cores: number } }) => sum + p.held.cores,
      0,
    );
    expect(held).toBeLessThanOrEqual(4);
  });

  it('quotas hold under concurrent runs: 10 runs at once, room for 2', async () => {
    const h = makeHarness({ cores: 1, memoryGb: 0.25 });
    const a = await h.tenant('a', {
      cores: 4,
      concurrent_executions: 10,
      concurrent_requests: 20,
      request_burst: 1000,
    });
    const flow = await h.flow(a.key);
    let open!: () => void;
    h.executor.gate = new Promise<void>((resolve) => (open = resolve));
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => h.call('POST', '/v1/executions', a.key, { flow_id: flow })),
    );
    expect(answers.filter((r) => r.status === 202)).toHaveLength(2);
    expect(new Set(answers.filter((r) => r.status !== 202).map((r) => r.json.error.quota))).toEqual(
      new Set(['cores']),
    );
    open();
    await Promise.all([...h.state.running]);
  });
});
