import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { serviceAvailable, SERVICES } from '../helpers/services.js';
import { openHistory } from '../../src/history/open-history.js';
import { observationsFromStatus } from '../../src/history/observations-from-status.js';
import type { HistoryStore } from '../../src/history/history-store.js';
import { connectPostgres } from '../../src/stores/postgres/postgres-pool.js';
import { makeRun } from './fixtures.js';
import { MemoryHistory } from '../predictor/memory-history.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-history-'));
/** Tenants of this run are unique, so runs against a shared PostgreSQL never see each other. */
const run = randomUUID();
const tenantA = `a-${run}`;
const tenantB = `b-${run}`;
const id = (name: string) => `${name}-${run}`;
/** Tenants the property test creates, cleaned up with the others. */
const propertyTenants: string[] = [];

/** One implementation of the contract: how to open it (again: the same data) and clean up. */
interface Backend {
  kind: string;
  open: () => Promise<HistoryStore>;
  cleanup: () => Promise<void>;
}

const memory = new MemoryHistory();
const backends: Backend[] = [
  {
    kind: 'sqlite',
    open: () => openHistory(path.join(dir, 'history.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  },
  // The in-memory history the predictor's tests learn from: the same contract.
  { kind: 'memory', open: async () => memory.reopen(), cleanup: async () => {} },
];
if (await serviceAvailable('postgres')) {
  backends.push({
    kind: 'postgres',
    open: () => openHistory(SERVICES.postgres.url),
    cleanup: async () => {
      const pool = await connectPostgres(SERVICES.postgres.url, 1);
      for (const table of ['warmflow_history_runs', 'warmflow_history_observations']) {
        await pool.query({
          text: `DELETE FROM ${table} WHERE tenant = ANY($1::text[])`,
          values: [[tenantA, tenantB, ...propertyTenants]],
        });
      }
      await pool.end();
    },
  });
}

describe.each(backends)('HistoryStore conformance: $kind', (backend) => {
  let history: HistoryStore;

  beforeAll(async () => {
    history = await backend.open();
    // Out of order on purpose; the offset one is 10:30Z, between the others.
    const runs = [
      makeRun(id('e2'), tenantA, 'clicks', '2026-01-01T11:00:00.000Z'),
      makeRun(id('e1'), tenantA, 'clicks', '2026-01-01T10:00:00.000Z'),
      makeRun(id('e3'), tenantA, 'orders', '2026-01-01T12:30:00+02:00'),
      makeRun(id('e9'), tenantB, 'clicks', '2026-01-01T09:00:00.000Z'),
    ];
    for (const r of runs)
      await history.record(r, observationsFromStatus(r, { fingerprints: { parse: 'fp-parse' } }));
  });

  afterAll(async () => {
    await history.close();
    await backend.cleanup();
  });

  it('returns a recorded run unchanged', async () => {
    const expected = makeRun(id('e1'), tenantA, 'clicks', '2026-01-01T10:00:00.000Z');
    expect(await history.run(id('e1'), tenantA)).toEqual(expected);
    expect(await history.run(id('e1'))).toEqual(expected);
    expect(await history.run(id('e1'), tenantB)).toBeUndefined();
    expect(await history.run(id('nope'))).toBeUndefined();
  });

  it('lists runs newest first, by tenant and template, with a limit', async () => {
    const ids = async (f: Parameters<HistoryStore['runs']>[0]) =>
      (await history.runs(f)).map((r) => r.execution_id);
    expect(await ids({ tenant: tenantA })).toEqual([id('e2'), id('e3'), id('e1')]);
    expect(await ids({ tenant: tenantA, template: 'clicks' })).toEqual([id('e2'), id('e1')]);
    expect(await ids({ tenant: tenantA, limit: 1 })).toEqual([id('e2')]);
    expect(await ids({ tenant: tenantB })).toEqual([id('e9')]);
    expect(await ids({ tenant: `none-${run}` })).toEqual([]);
  });

  it('lists observations newest first, by node, template, fingerprint and tenant', async () => {
    const obs = await history.observations({
      tenant: tenantA,
      template: 'clicks',
      node_id: 'count',
    });
    expect(obs.map((o) => o.execution_id)).toEqual([id('e2'), id('e1')]);
    expect(obs[0]).toMatchObject({
      node_id: 'count',
      key_cardinality: 42,
      cpu_us_per_record: 250,
      memory_gb: 0.5,
    });
    const byCode = await history.observations({
      tenant: tenantA,
      function_fingerprint: 'fp-parse',
    });
    expect(byCode.map((o) => `${o.template}/${o.execution_id}`)).toEqual([
      `clicks/${id('e2')}`,
      `orders/${id('e3')}`,
      `clicks/${id('e1')}`,
    ]);
    expect(
      await history.observations({ tenant: tenantA, node_id: 'parse', limit: 2 }),
    ).toHaveLength(2);
    expect(await history.observations({ tenant: tenantB, node_id: 'source:clicks' })).toEqual([]);
  });

  it('finds runs and observations by template fingerprint, whatever the flow is named', async () => {
    const tenant = `c-${run}-${backend.kind}`;
    propertyTenants.push(tenant);
    // A flow of the shape of 'clicks' (fp-clicks), renamed; one of another shape keeps the name.
    const runs = [
      makeRun(id('f1'), tenant, 'clicks', '2026-01-01T10:00:00.000Z'),
      {
        ...makeRun(id('f2'), tenant, 'clicks-v2', '2026-01-01T11:00:00.000Z'),
        template_fingerprint: 'fp-clicks',
      },
      {
        ...makeRun(id('f3'), tenant, 'clicks', '2026-01-01T12:00:00.000Z'),
        template_fingerprint: 'fp-other',
      },
    ];
    for (const r of runs) await history.record(r, observationsFromStatus(r));
    const runIds = async (f: Parameters<HistoryStore['runs']>[0]) =>
      (await history.runs(f)).map((r) => r.execution_id);
    expect(await runIds({ tenant, template_fingerprint: 'fp-clicks' })).toEqual([
      id('f2'),
      id('f1'),
    ]);
    expect(await runIds({ tenant, template_fingerprint: 'fp-other' })).toEqual([id('f3')]);
    expect(await runIds({ tenant, template: 'clicks' })).toEqual([id('f3'), id('f1')]);
    const obs = await history.observations({
      tenant,
      template_fingerprint: 'fp-clicks',
      node_id: 'count',
    });
    expect(obs.map((o) => `${o.template}/${o.execution_id}`)).toEqual([
      `clicks-v2/${id('f2')}`,
      `clicks/${id('f1')}`,
    ]);
    expect(obs.map((o) => o.template_fingerprint)).toEqual(['fp-clicks', 'fp-clicks']);
    expect(await history.observations({ tenant, template_fingerprint: 'fp-none' })).toEqual([]);
  });

  it('replaces a run recorded again, with its observations', async () => {
    const again = makeRun(id('e1'), tenantA, 'clicks', '2026-01-01T10:00:00.000Z');
    again.status.outcome = 'failed';
    await history.record(again, observationsFromStatus(again).slice(0, 1));
    expect((await history.run(id('e1'), tenantA))?.status.outcome).toBe('failed');
    expect(await history.runs({ tenant: tenantA, template: 'clicks' })).toHaveLength(2);
    const e1 = (await history.observations({ tenant: tenantA })).filter(
      (o) => o.execution_id === id('e1'),
    );
    expect(e1.map((o) => o.node_id)).toEqual(['parse']);
  });

  it('keeps the same execution id of two tenants apart', async () => {
    const other = makeRun(id('e2'), tenantB, 'clicks', '2026-01-02T00:00:00.000Z');
    await history.record(other, []);
    expect((await history.run(id('e2'), tenantB))?.tenant).toBe(tenantB);
    expect((await history.run(id('e2'), tenantA))?.tenant).toBe(tenantA);
  });

  it('reopens with its data and an already-migrated schema', async () => {
    const again = await backend.open();
    try {
      expect((await again.runs({ tenant: tenantA })).length).toBe(3);
    } finally {
      await again.close();
    }
  });

  it('lists any set of runs newest first, as a sort by UTC time would', async () => {
    const offsets = ['Z', '+02:00', '-05:30'];
    const runArb = fc.record({
      template: fc.constantFrom('t1', 't2'),
      at: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 0, 1) }),
      offset: fc.constantFrom(...offsets),
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(runArb, { minLength: 1, maxLength: 8 }), async (specs) => {
        const tenant = `p${round++}-${run}`;
        propertyTenants.push(tenant);
        const recorded = specs.map((spec, i) => {
          const hours = spec.offset === 'Z' ? 0 : Number(spec.offset.slice(0, 3));
          const minutes =
            spec.offset === 'Z' ? 0 : Math.sign(hours || 1) * Number(spec.offset.slice(4));
          const local = new Date(spec.at + (hours * 60 + minutes) * 60_000)
            .toISOString()
            .slice(0, 23);
          return { ...spec, i, recordedAt: `${local}${spec.offset}` };
        });
        for (const r of recorded) {
          await history.record(makeRun(`r${r.i}`, tenant, r.template, r.recordedAt), []);
        }
        // Newest first; equal instants: the later recorded first.
        const expected = [...recorded]
          .sort((a, b) => b.at - a.at || b.i - a.i)
          .filter((r) => r.template === 't1')
          .map((r) => `r${r.i}`);
        const got = await history.runs({ tenant, template: 't1' });
        expect(got.map((r) => r.execution_id)).toEqual(expected);
      }),
      { numRuns: backend.kind === 'postgres' ? 15 : 40 },
    );
  });

  it('refuses to work after close()', async () => {
    const closed = await backend.open();
    await closed.close();
    await expect(closed.runs()).rejects.toMatchObject({ code: 'E_HISTORY_CLOSED' });
  });
});
