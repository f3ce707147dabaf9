import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { openStore } from '../../src/stores/open-store.js';
import type { StoreSpec } from '../../src/template/types.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { SEED_MARKERS, type SeedMarker } from '../../src/worker/dataplane/run-stores.js';
import { referenceRun } from './reference-run.js';
import { outputLines, repo, runOnEngine, storeTable, tempDir } from './run-helpers.js';

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

const sortedJson = (values: Iterable<unknown>): string[] =>
  [...values].map((v) => JSON.stringify(v)).sort();

/** Runs an example on the engine (its sqlite stores redirected to a temp folder) and compares with the reference. */
async function checkExample(name: string, request: { rate?: number } = {}): Promise<void> {
  const flow = await loadFlow(path.join(repo, 'examples', name, 'flow.yaml'));
  const dir = tempDir();
  const stores: Record<string, StoreSpec> = {};
  for (const [store, spec] of Object.entries(flow.spec.stores ?? {})) {
    if (spec.kind === 'sqlite')
      stores[store] = { kind: 'sqlite', path: path.join(dir, `${store}.db`) };
  }
  await checkFlow(flow, stores, request);
}

/**
 * Runs `flow` on the engine with `stores` overriding its catalogue (on demand, or on a set of
 * `pool`) and compares with the reference.
 */
async function checkFlow(
  flow: LoadedFlow,
  stores: Record<string, StoreSpec>,
  request: { rate?: number } = {},
  pool?: PreProvisioningService,
): Promise<void> {
  const { status, outDir } = await runOnEngine(
    flow,
    provider,
    { stores, ...request },
    pool === undefined ? {} : { pool, cold: false },
  );
  const expected = await referenceRun(flow);
  expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
  expect(status.provisioning).toBe(pool === undefined ? 'on_demand' : 'warm');
  expect(status.records.dead_lettered).toBe(expected.dead);
  for (const [type, table] of expected.stores) {
    const storeName = flow.spec.types![type].store!;
    const actual = await storeTable(
      storeName,
      stores[storeName] ?? flow.spec.stores![storeName],
      type,
    );
    expect(actual.size, `${type} rows`).toBe(table.size);
    expect(sortedJson(actual.entries())).toEqual(sortedJson(table.entries()));
  }
  for (const [type, lines] of expected.sinks) {
    expect(outputLines(path.join(outDir, `${type}.jsonl`)).sort()).toEqual([...lines].sort());
  }
  for (const [node, keys] of expected.keys) {
    expect(status.nodes.find((n) => n.node_id === node)?.state_keys, `${node} keys`).toBe(
      keys.size,
    );
  }
  // Read nodes count the lookups functions made of their type, and the hits.
  for (const [type, count] of expected.lookups) {
    const read = status.nodes.find((n) => n.node_id === `read:${type}`);
    expect({ in: read?.records_in, out: read?.records_out }, `read:${type}`).toEqual(count);
  }
  const written = [...expected.stores.values()].length + [...expected.sinks.values()].length;
  expect(written).toBeGreaterThan(0);
}

describe('every example flow, end to end, against an independent reference run', () => {
  it('clickstream: lookups in a seeded memory store, sessions per user in SQLite', async () => {
    await checkExample('clickstream');
  });
  it('iot: one source feeding two keyed functions, windows in SQLite, alerts to a JSONL sink', async () => {
    await checkExample('iot');
  });
  it('orders: two sources fanning in, a diamond, running balances per account', async () => {
    await checkExample('orders');
  });
  it('iot replayed at a rate (the orchestrator reads and pushes batches by the clock) gives the same result', async () => {
    await checkExample('iot', { rate: 50_000 });
  });

  it('clickstream with its profiles in SQLite: the seed is loaded by the first run, not by the next, and again once its file changes — each run right', async () => {
    const dir = tempDir();
    cpSync(path.join(repo, 'examples', 'clickstream'), dir, { recursive: true });
    // Its TypeScript functions are ES modules, as in the repository.
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    const flowFile = path.join(dir, 'flow.yaml');
    const profiles: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'profiles.db') };
    const marker = async (): Promise<SeedMarker> => {
      const store = await openStore('profiles', profiles);
      try {
        return (await store.get(SEED_MARKERS, 'UserProfile')) as SeedMarker;
      } finally {
        await store.close();
      }
    };
    const run = async (n: number) =>
      checkFlow(await loadFlow(flowFile), {
        profiles,
        warehouse: { kind: 'sqlite', path: path.join(dir, `warehouse-${n}.db`) },
      });
    await run(1);
    const first = await marker();
    expect(first.records).toBeGreaterThan(0);
    await run(2);
    expect(await marker()).toEqual(first);
    // Every user on another plan: the next run loads the file again and enriches with it.
    const seedFile = path.join(dir, 'data', 'profiles.jsonl');
    const changed = readFileSync(seedFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.stringify({ ...JSON.parse(line), plan: 'changed' }));
    writeFileSync(seedFile, changed.join('\n') + '\n');
    await run(3);
    const third = await marker();
    expect(third.digest).not.toBe(first.digest);
    expect(third.loaded_at >= first.loaded_at).toBe(true);
    expect(third.records).toBe(first.records);
  });

  it('clickstream with its profiles in SQLite, from a warm pool: the seed is loaded while the pool warms, and the first warm run finds it there', async () => {
    const dir = tempDir();
    cpSync(path.join(repo, 'examples', 'clickstream'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    const flowFile = path.join(dir, 'flow.yaml');
    writeFileSync(
      flowFile,
      readFileSync(flowFile, 'utf8').replace(
        'profiles: { kind: memory }',
        'profiles: { kind: sqlite, path: ./profiles.db }',
      ),
    );
    const flow = await loadFlow(flowFile);
    const profiles: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'profiles.db') };
    const marker = async (): Promise<SeedMarker | undefined> => {
      const store = await openStore('profiles', profiles);
      try {
        return (await store.get(SEED_MARKERS, 'UserProfile')) as SeedMarker | undefined;
      } finally {
        await store.close();
      }
    };
    expect(await marker()).toBeUndefined();
    const groups = planGroups(flow.template);
    const rprs = fitGroupRprs(ruleRprs(flow.template, 100), groups, 2);
    const pool = new PreProvisioningService({ provider });
    try {
      await pool.preProvision({ flow, rprs, groups, tenant: 'default' });
      const primed = await marker();
      expect(primed?.records).toBeGreaterThan(0);
      expect(pool.stores.size).toBe(1);
      const warehouse: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'out', 'warehouse.db') };
      await checkFlow(flow, { profiles, warehouse }, {}, pool);
      // The run read the marker (kept connection) and did not load the file again.
      expect(await marker()).toEqual(primed);
    } finally {
      await pool.close();
    }
    expect(pool.stores.size).toBe(0);
  });
});
