import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { profilerPart } from '../../src/server/parts/local-parts.js';
import { ADMIN_KEY, FLOW_YAML, makeHarness } from './harness.js';

/**
 * Requests that once crashed or bloated the server, kept as regression tests, and a
 * fuzz of every route: whatever a tenant sends, the answer is never a 500 and the
 * server keeps answering.
 */
describe('server: hostile requests', () => {
  const realProfiler = profilerPart({ sample: 1000 });

  it('a JSON flow nested 20,000 deep is a 400 naming max_body_depth, twice, and the server lives', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    for (let i = 0; i < 3; i++) {
      const res = await h.call('POST', '/v1/flows', a.key, deep, 'application/json');
      expect([res.status, res.json.error.code]).toEqual([400, 'E_LIMIT']);
      expect(res.json.error.message).toContain('max_body_depth');
    }
    expect((await h.call('POST', '/v1/flows', a.key, FLOW_YAML, 'application/yaml')).status).toBe(
      201,
    );
  });

  it('a YAML flow nested 20,000 deep (flow and block style) is a 400 naming max_depth', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const flowStyle = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const blockStyle = Array.from({ length: 1_200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const dashes = '- '.repeat(20_000) + 'x';
    for (const yaml of [flowStyle, blockStyle, dashes]) {
      const res = await h.call('POST', '/v1/flows', a.key, yaml, 'application/yaml');
      expect([res.status, res.json.error.problems?.[0]?.code]).toEqual([400, 'E_LIMIT']);
      expect(res.json.error.message).toContain('max_depth');
    }
  });

  it('a YAML alias bomb is a 400 naming max_aliases', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const res = await h.call('POST', '/v1/flows', a.key, levels.join('\n'), 'application/yaml');
    expect([res.status, res.json.error.problems?.[0]?.code]).toEqual([400, 'E_LIMIT']);
    expect(res.json.error.message).toContain('max_aliases');
  });

  it('aliases cannot amplify what is stored and answered: a flow is refused beyond max_expanded_bytes', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const big = 'y'.repeat(60_000);
    const bomb =
      `name: clicks\nstreams:\n  clicks: { type: Click }\ntypes: &t\n  Pad: { fields: &f { ${Array.from(
        { length: 10 },
        (_, i) => `f${i}: "${big}"`,
      ).join(', ')} } }\n` +
      Array.from({ length: 6 }, (_, i) => `  P${i}: { fields: *f }`).join('\n') +
      '\nfunctions:\n  - { name: enrich, input: [Click], output: [Enriched] }\n';
    const res = await h.call('POST', '/v1/flows', a.key, bomb, 'application/yaml');
    expect([res.status, res.json.error.problems?.[0]?.code]).toEqual([400, 'E_LIMIT']);
    expect(res.json.error.message).toContain('max_expanded_bytes');
  });

  it('a flow with a 30,000-key mapping (a minute of yaml’s duplicate-key check) is a 400 naming max_items', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const yaml =
      FLOW_YAML + 'x:\n' + Array.from({ length: 30_000 }, (_, i) => `  k${i}: v${i}`).join('\n');
    const res = await h.call('POST', '/v1/flows', a.key, yaml, 'application/yaml');
    expect([res.status, res.json.error.problems?.[0]?.code]).toEqual([400, 'E_LIMIT']);
    expect(res.json.error.message).toContain('max_items');
    const json = JSON.stringify({
      name: 'clicks',
      x: Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i])),
    });
    const flowStyle = await h.call('POST', '/v1/flows', a.key, json, 'application/json');
    expect(flowStyle.json.error.message).toContain('max_items');
  });

  it('a string longer than max_string_bytes is refused, not stored', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const yaml = FLOW_YAML.replace(
      '  - name: enrich\n',
      `  - name: enrich\n    description: "${'z'.repeat(900_000)}"\n`,
    );
    const res = await h.call('POST', '/v1/flows', a.key, yaml, 'application/yaml');
    expect([res.status, res.json.error.problems?.[0]?.code]).toEqual([400, 'E_LIMIT']);
    expect(res.json.error.message).toContain('max_string_bytes');
    expect((await h.call('GET', '/v1/flows', a.key)).json.flows).toEqual([]);
  });

  it('records nested 100,000 deep to /v1/profiles are a 400, not a 500 (real profiler)', async () => {
    const h = makeHarness({ profiler: realProfiler });
    const a = await h.tenant('a');
    const objects = '{"records":[' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + ']}';
    const arrays = '{"records":[' + '['.repeat(100_000) + ']'.repeat(100_000) + ']}';
    for (const body of [objects, arrays]) {
      const res = await h.call('POST', '/v1/profiles', a.key, body);
      expect([res.status, res.json.error.code]).toEqual([400, 'E_LIMIT']);
    }
    const fine = await h.call('POST', '/v1/profiles', a.key, {
      records: [{ a: { b: { c: [1, 2, { d: 'x' }] } } }],
    });
    expect(fine.status).toBe(201);
  });

  it('a source file in the tenant area with records nested 100,000 deep profiles them as malformed, not a 500', async () => {
    const h = makeHarness({ profiler: realProfiler });
    const a = await h.tenant('a');
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    writeFileSync(
      path.join(h.state.areas.area(a.id).data, 'deep.jsonl'),
      ['{"a":1}', deep, '['.repeat(100_000) + ']'.repeat(100_000), '{"a":2}'].join('\n') + '\n',
    );
    const res = await h.call('POST', '/v1/profiles', a.key, { source: 'data/deep.jsonl' });
    expect(res.status).toBe(201);
    expect(res.json.dcp.volume.records).toBe(2);
    expect(res.json.dcp.malformed.count).toBe(2);
  });

  it('fuzz: no route answers 500 to any body, path or content type', async () => {
    const h = makeHarness({ profiler: realProfiler });
    const a = await h.tenant('a');
    const flowId = await h.flow(a.key);
    const yamlToken = fc.constantFrom(
      '&a ',
      '*a',
      '[',
      ']',
      '{',
      '}',
      '- ',
      ': ',
      '\n',
      '  ',
      '"',
      "'",
      '|',
      '>',
      '!!str ',
      '? ',
      '#',
      ',',
      '%YAML 1.2\n',
      '---\n',
      '...\n',
      'name',
      'functions',
      'streams',
      'types',
      'input',
      'output',
      'x',
      '1',
      'null',
      '\\',
      '\t',
      '<<: *a',
      '!',
      '&b ',
      '*b',
      '@',
      '`',
    );
    const yamlText = fc.array(yamlToken, { maxLength: 60 }).map((t) => t.join(''));
    const flowMutation = fc
      .tuple(fc.nat(FLOW_YAML.length), yamlText)
      .map(([at, text]) => FLOW_YAML.slice(0, at) + text + FLOW_YAML.slice(at));
    const deep = fc
      .tuple(fc.constantFrom('[', '{"a":', '{"records":[', '- '), fc.integer({ min: 1, max: 300 }))
      .map(([open, n]) => open.repeat(n));
    const body = fc.oneof(
      fc.json({ maxDepth: 6 }),
      yamlText,
      flowMutation,
      deep,
      fc.string({ maxLength: 200 }),
      fc.constant(undefined),
      fc
        .record({
          flow_id: fc.oneof(fc.constant(flowId), fc.string({ maxLength: 20 })),
          records: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }),
        })
        .map((r) => JSON.stringify(r)),
      fc
        .record({ flow_id: fc.constant(flowId), source: fc.string({ maxLength: 40 }) })
        .map((r) => JSON.stringify(r)),
    );
    const segment = fc.oneof(fc.constant(flowId), fc.string({ maxLength: 12 }), fc.constant('a'));
    const path = fc.oneof(
      fc.constantFrom(
        '/v1/flows',
        '/v1/profiles',
        '/v1/pools',
        '/v1/executions',
        '/v1/history',
        '/v1/tenants',
        '/v1/pools/timeline',
        '/metrics',
        '/healthz',
        '/v1/history?limit=x',
      ),
      fc
        .tuple(
          fc.constantFrom(
            '/v1/flows/',
            '/v1/profiles/',
            '/v1/pools/',
            '/v1/executions/',
            '/v1/tenants/',
          ),
          segment,
          fc.constantFrom('', '/predict', '/keys', '/keys/k'),
        )
        .map(([base, id, tail]) => base + encodeURIComponent(id) + tail),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
        path,
        body,
        fc.constantFrom(
          'application/json',
          'application/yaml',
          'text/plain',
          'application/x-yaml; charset=utf-8',
        ),
        fc.constantFrom(a.key, ADMIN_KEY),
        async (method, where, payload, type, key) => {
          const sent = method === 'GET' || method === 'DELETE' ? undefined : payload;
          const res = await h.call(
            method,
            where,
            key,
            sent === undefined ? undefined : String(sent),
            type,
          );
          if (res.status >= 500) throw new Error(`${method} ${where} → ${res.status}: ${res.text}`);
        },
      ),
      { numRuns: 3000 },
    );
    expect((await h.call('GET', '/healthz', undefined)).status).toBe(200);
  });
});
