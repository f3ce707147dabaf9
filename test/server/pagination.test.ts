import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/server/app-state.js';
import { ProfilePage } from '../../src/server/response-schemas.js';
import { makeHarness } from './harness.js';

describe('server: list routes are paged', () => {
  it('pages flows with ?limit= and the next cursor until every flow is seen once', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await h.flow(a.key));
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    do {
      const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const res = await h.call('GET', `/v1/flows?limit=3${query}`, a.key);
      expect(res.status).toBe(200);
      sizes.push(res.json.flows.length);
      seen.push(...res.json.flows.map((f: { id: string }) => f.id));
      after = res.json.next;
    } while (after !== null);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(ids);
  });

  it('answers at most 100 executions by default, newest first, and refuses pages over 1000 and stale cursors', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    for (let i = 0; i < 150; i++) {
      await h.state.executions.set(a.id, `e${i}`, {
        id: `e${i}`,
        tenant: a.id,
        status: 'succeeded',
      } as unknown as ExecutionRecord);
    }
    const first = await h.call('GET', '/v1/executions', a.key);
    expect(first.status).toBe(200);
    expect(first.json.executions).toHaveLength(100);
    expect(first.json.executions[0].id).toBe('e149');
    expect(first.json.next).toBe('e50');
    const second = await h.call('GET', `/v1/executions?after=${first.json.next}`, a.key);
    expect(second.json.executions.map((e: { id: string }) => e.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `e${49 - i}`),
    );
    expect(second.json.next).toBeNull();

    const tooMany = await h.call('GET', '/v1/executions?limit=1001', a.key);
    expect(tooMany.status).toBe(400);
    const stale = await h.call('GET', '/v1/executions?after=gone', a.key);
    expect(stale.status).toBe(400);
    expect(stale.json.error.code ?? stale.json.code).toBe('E_BAD_CURSOR');
    // Another tenant's cursor is the same miss: its items are not in this list.
    const b = await h.tenant('b');
    expect((await h.call('GET', '/v1/executions?after=e10', b.key)).status).toBe(400);
  });

  it('pages profiles newest first, without their DCPs, as the ProfilePage schema says', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.call('POST', '/v1/profiles', a.key, { records: [{ n: i }] });
      expect(res.status).toBe(201);
      ids.push(res.json.id);
    }
    const first = await h.call('GET', '/v1/profiles?limit=3', a.key);
    expect(ProfilePage.safeParse(first.json).success).toBe(true);
    expect(first.json.profiles.map((p: { id: string }) => p.id)).toEqual(ids.slice(2).reverse());
    expect(first.json.profiles[0].dcp).toBeUndefined();
    const second = await h.call('GET', `/v1/profiles?limit=3&after=${first.json.next}`, a.key);
    expect(second.json.profiles.map((p: { id: string }) => p.id)).toEqual(
      ids.slice(0, 2).reverse(),
    );
    expect(second.json.next).toBeNull();
    const b = await h.tenant('b');
    expect((await h.call('GET', '/v1/profiles', b.key)).json.profiles).toEqual([]);
  });

  it('documents limit and after on every list route', async () => {
    const h = makeHarness();
    const doc = (await h.call('GET', '/openapi.json', undefined)).json;
    for (const path of ['/v1/flows', '/v1/executions', '/v1/pools', '/v1/profiles']) {
      const names = (doc.paths[path].get.parameters as Array<{ name: string }>).map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(['limit', 'after']));
    }
  });
});
