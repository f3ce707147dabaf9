import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { ADMIN_KEY, FLOW_YAML, makeHarness } from './harness.js';
import { FakeExecutor } from './fakes.js';

describe('server: auth', () => {
  it('serves health and the OpenAPI document without a key', async () => {
    const h = makeHarness();
    expect((await h.call('GET', '/healthz', undefined)).json).toEqual({ status: 'ok' });
    const doc = await h.call('GET', '/openapi.json', undefined);
    expect(doc.status).toBe(200);
    for (const path of [
      '/v1/flows',
      '/v1/flows/{id}',
      '/v1/executions',
      '/v1/executions/{id}',
      '/v1/pools',
      '/v1/tenants',
      '/v1/tenants/{id}/keys',
    ]) {
      expect(Object.keys(doc.json.paths)).toContain(path);
    }
  });

  it('answers 401 to missing, malformed, wrong and revoked keys', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    expect((await h.call('GET', '/v1/flows', undefined)).status).toBe(401);
    const res = await h.app.request('/v1/flows', { headers: { authorization: `Basic ${a.key}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect((await h.call('GET', '/v1/flows', a.key.slice(0, -1) + 'x')).status).toBe(401);
    expect((await h.call('GET', '/v1/flows', 'wf_0000000000000000_' + 'A'.repeat(43))).status).toBe(
      401,
    );
    expect((await h.call('GET', '/v1/flows', a.key)).status).toBe(200);
    const keys = await h.call('GET', `/v1/tenants/${a.id}/keys`, ADMIN_KEY);
    const keyId = keys.json.keys[0].key_id as string;
    expect((await h.call('DELETE', `/v1/tenants/${a.id}/keys/${keyId}`, ADMIN_KEY)).status).toBe(
      200,
    );
    const revoked = await h.call('GET', '/v1/flows', a.key);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.code).toBe('E_UNAUTHORIZED');
    const fresh = await h.call('POST', `/v1/tenants/${a.id}/keys`, ADMIN_KEY);
    expect(fresh.status).toBe(201);
    expect((await h.call('GET', '/v1/flows', fresh.json.api_key)).status).toBe(200);
  });

  it('the dashboard sends CSP, X-Frame-Options, nosniff and Referrer-Policy, and moves ?key= out first', async () => {
    const h = makeHarness();
    const res = await h.app.request('/dashboard/?key=wf_secret');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // The inline script that moves the key runs before anything loads, and CSP allows it by hash.
    const inline = /<script>([^<]*)<\/script>/.exec(html)?.[1] ?? '';
    expect(inline).toContain('replaceState');
    expect(html.indexOf('<script>')).toBeLessThan(html.indexOf('<link'));
    expect(html.indexOf('<script>')).toBeLessThan(html.indexOf('<script type="module"'));
    const hash = createHash('sha256').update(inline).digest('base64');
    expect(csp).toContain(`'sha256-${hash}'`);
    expect(csp).not.toContain('unsafe-eval');
    const api = await h.call('GET', '/v1/flows', undefined);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('the per-template metric keeps series only for registered templates', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const series = async () =>
      (
        (await h.call('GET', '/metrics', ADMIN_KEY)).text.match(
          /^warmflow_records_per_second\{/gm,
        ) ?? []
      ).length;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await h.flow(a.key, FLOW_YAML.replace('name: clicks', `name: t${i}`));
      ids.push(id);
      const run = await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: id });
      expect(run.status).toBe(200);
    }
    expect(await series()).toBe(5);
    for (const id of ids.slice(0, 4))
      expect((await h.call('DELETE', `/v1/flows/${id}`, a.key)).status).toBe(200);
    expect(await series()).toBe(1);
  });

  it('revokes a key when the tenant is named by name, as the CLI allows', async () => {
    const h = makeHarness();
    const a = await h.tenant('alpha');
    const b = await h.tenant('beta');
    const byName = await h.call('GET', '/v1/tenants/alpha/keys', ADMIN_KEY);
    expect(byName.status).toBe(200);
    const keyId = byName.json.keys[0].key_id as string;
    // Another tenant's name never reaches this key.
    expect((await h.call('DELETE', `/v1/tenants/beta/keys/${keyId}`, ADMIN_KEY)).status).toBe(404);
    expect((await h.call('GET', '/v1/flows', a.key)).status).toBe(200);
    const res = await h.call('DELETE', `/v1/tenants/alpha/keys/${keyId}`, ADMIN_KEY);
    expect([res.status, res.json.tenant_id]).toEqual([200, a.id]);
    expect((await h.call('GET', '/v1/flows', a.key)).status).toBe(401);
    expect((await h.call('GET', '/v1/flows', b.key)).status).toBe(200);
  });

  it('answers 403 to tenant keys on admin routes and to the admin key on tenant routes', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    for (const [method, path] of [
      ['POST', '/v1/tenants'],
      ['GET', '/v1/tenants'],
      ['POST', `/v1/tenants/${a.id}/keys`],
      ['GET', `/v1/tenants/${a.id}/keys`],
      ['DELETE', `/v1/tenants/${a.id}/keys/0000000000000000`],
      ['GET', '/metrics'],
    ] as const) {
      const res = await h.call(
        method,
        path,
        a.key,
        method === 'POST' && path === '/v1/tenants' ? { name: 'x' } : undefined,
      );
      expect([method, path, res.status, res.json.error?.code]).toEqual([
        method,
        path,
        403,
        'E_FORBIDDEN',
      ]);
    }
    expect((await h.call('GET', '/v1/flows', ADMIN_KEY)).status).toBe(403);
    expect((await h.call('GET', '/metrics', ADMIN_KEY)).status).toBe(200);
  });
});

describe('server: requests', () => {
  it('registers a YAML or JSON flow and answers with the inferred template', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const yaml = await h.call('POST', '/v1/flows', a.key, FLOW_YAML, 'application/yaml');
    expect(yaml.status).toBe(201);
    expect(yaml.json.template.nodes.map((n: { id: string }) => n.id).sort()).toEqual(
      ['count', 'enrich', 'source:clicks', 'write:Count'].sort(),
    );
    const json = await h.call('POST', '/v1/flows', a.key, {
      name: 'j',
      streams: { s: { type: 'A' } },
      functions: [{ name: 'f', input: ['A'], output: ['B'] }],
    });
    expect(json.status).toBe(201);
    const got = await h.call('GET', `/v1/flows/${json.json.id}`, a.key);
    expect(got.json.template.edges).toContainEqual({ from: 'source:s', to: 'f', type: 'A' });
    const list = await h.call('GET', '/v1/flows', a.key);
    expect(list.json.flows.map((f: { id: string }) => f.id).sort()).toEqual(
      [yaml.json.id, json.json.id].sort(),
    );
  });

  it('lists every problem of an invalid flow with positions', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const bad = `name: bad
functions:
  - name: f
    input: [Missing]
    output: [B]
  - name: g
    input: [B]
    output: [A2]
    extra_field: 1
`;
    const res = await h.call('POST', '/v1/flows', a.key, bad, 'application/yaml');
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('E_INVALID');
    expect(res.json.error.problems.length).toBeGreaterThanOrEqual(1);
    expect(
      res.json.error.problems.every(
        (p: { position?: { line?: number } }) => typeof p.position?.line === 'number',
      ),
    ).toBe(true);
    const broken = await h.call('POST', '/v1/flows', a.key, 'name: [unclosed', 'application/yaml');
    expect(broken.status).toBe(400);
    expect(broken.json.error.problems[0].code).toBe('E_YAML');
    expect((await h.call('POST', '/v1/flows', a.key, FLOW_YAML, 'text/plain')).status).toBe(415);
    expect((await h.call('POST', '/v1/flows', a.key, '', 'application/yaml')).status).toBe(400);
  });

  it('refuses malformed JSON, wrong types and unknown fields with precise messages', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const malformed = await h.call(
      'POST',
      '/v1/profiles',
      a.key,
      '{"records": [1,',
      'application/json',
    );
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.message).toMatch(/Malformed JSON/);
    const wrongType = await h.call('POST', '/v1/profiles', a.key, { records: 'nope' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.problems[0].path).toBe('records');
    const duplicate = await h.call('POST', '/v1/tenants', ADMIN_KEY, { name: 'a' });
    expect([duplicate.status, duplicate.json.error.code]).toEqual([409, 'E_TENANT_EXISTS']);
    const unknown = await h.call('POST', '/v1/tenants', ADMIN_KEY, { name: 'x', colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.problems[0]).toMatchObject({
      code: 'E_UNKNOWN_FIELD',
      involves: ['colour'],
    });
    const both = await h.call('POST', '/v1/profiles', a.key, { records: [1], source: 'x.jsonl' });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toMatch(/exactly one/);
    const badQuery = await h.call('GET', '/v1/history?limit=zero', a.key);
    expect(badQuery.status).toBe(400);
    expect((await h.call('GET', '/v1/nothing', a.key)).status).toBe(404);
  });

  it('refuses source paths outside the server roots', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const res = await h.call('POST', '/v1/profiles', a.key, { source: '/etc/passwd' });
    expect([res.status, res.json.error.code]).toEqual([403, 'E_PATH_FORBIDDEN']);
  });

  it('profiles, predicts, pre-provisions, runs and shows history and metrics', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const flowId = await h.flow(a.key);
    const profile = await h.call('POST', '/v1/profiles', a.key, {
      flow_id: flowId,
      records: [{ x: 1 }, { x: 2 }],
    });
    expect(profile.status).toBe(201);
    expect(profile.json.dcp.volume.records).toBe(2);
    const predicted = await h.call('POST', `/v1/flows/${flowId}/predict`, a.key, {});
    expect(predicted.json.profile_id).toBe(profile.json.id);
    expect(predicted.json.rprs.map((r: { node_id: string }) => r.node_id).sort()).toEqual([
      'count',
      'enrich',
    ]);
    const pool = await h.call('POST', '/v1/pools', a.key, { flow_id: flowId });
    expect(pool.status).toBe(201);
    expect(pool.json.resources).toHaveLength(2);
    const run = await h.call('POST', '/v1/executions?wait=true', a.key, {
      flow_id: flowId,
      records: [{ x: 1 }],
    });
    expect(run.status).toBe(200);
    expect(run.json.status).toBe('succeeded');
    expect(run.json.completion.records.in).toBe(1);
    const got = await h.call('GET', `/v1/executions/${run.json.id}`, a.key);
    expect(got.json.nodes.every((n: { state: string }) => n.state === 'succeeded')).toBe(true);
    const history = await h.call('GET', '/v1/history', a.key);
    expect(history.json.runs.map((r: { execution_id: string }) => r.execution_id)).toEqual([
      run.json.id,
    ]);
    const timeline = await h.call('GET', '/v1/pools/timeline', a.key);
    expect(timeline.json.samples.at(-1)).toMatchObject({ ready: 2, claimed: 0 });
    const refused = await h.call('POST', '/v1/executions', a.key, { flow_id: 'f_unknown' });
    expect(refused.status).toBe(404);
    const metrics = await h.call('GET', '/metrics', ADMIN_KEY);
    expect(metrics.text).toMatch(/warmflow_warm_hits_total\{tenant="[^"]+"\} 2/);
    // Per execution: one warm hit; and the refused request, by its code.
    expect(metrics.text).toMatch(
      /warmflow_executions_by_provisioning_total\{tenant="[^"]+",provisioning="warm"\} 1/,
    );
    expect(metrics.text).toMatch(
      new RegExp(
        `warmflow_executions_refused_total\\{tenant="[^"]+",code="${refused.json.error.code}"\\} 1`,
      ),
    );
    expect(metrics.text).toMatch(/warmflow_pool_resources\{tenant="[^"]+",status="ready"\} 2/);
    expect(metrics.text).toContain('warmflow_request_to_first_record_seconds_bucket');
    expect((await h.call('DELETE', `/v1/pools/${pool.json.id}`, a.key)).status).toBe(200);
    expect((await h.call('GET', '/v1/pools', a.key)).json.pools).toEqual([]);
  });

  it('turns an unexpected failure into a 500 without internals, and keeps serving', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const flowId = await h.flow(a.key);
    h.pools.list = () => Promise.reject(new Error('secret internal detail'));
    const res = await h.call('GET', '/v1/pools', a.key);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('secret');
    expect((await h.call('GET', `/v1/flows/${flowId}`, a.key)).status).toBe(200);
  });
});

describe('server: failed runs', () => {
  it('marks a run that could not start as failed with the reason', async () => {
    const { WarmflowError } = await import('../../src/errors.js');
    const h = makeHarness();
    const a = await h.tenant('a');
    const flowId = await h.flow(a.key);
    h.executor.execute = () =>
      Promise.reject(
        new WarmflowError('E_CAPACITY', 'cpu: needs 2 cores, 0.5 of 2 free (tenant "b" holds 1.5)'),
      );
    const run = await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flowId });
    expect(run.json).toMatchObject({ status: 'failed', error: { code: 'E_CAPACITY' } });
    // What the machine has free (what other tenants hold) is not the tenant's to know.
    expect(run.json.error.message).not.toMatch(/free|tenant "b"|1\.5/);
    expect(run.json.nodes.every((n: { state: string }) => n.state === 'failed')).toBe(true);
    // The slot was given back.
    h.executor.execute = FakeExecutor.prototype.execute.bind(h.executor);
    expect(
      (await h.call('POST', '/v1/executions?wait=true', a.key, { flow_id: flowId })).json.status,
    ).toBe('succeeded');
  });
});

describe('server: flows that could never run', () => {
  it('refuses a flow whose function module does not exist, naming it', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const res = await h.call(
      'POST',
      '/v1/flows',
      a.key,
      FLOW_YAML.replace(
        '  - name: enrich\n',
        '  - name: enrich\n    module: ./nowhere/enrich.ts\n',
      ),
      'application/yaml',
    );
    expect(res.status).toBe(400);
    expect(res.json.error.problems[0]).toMatchObject({
      code: 'E_MODULE_NOT_FOUND',
      involves: ['enrich'],
    });
  });
});
