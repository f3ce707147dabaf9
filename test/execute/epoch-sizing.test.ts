import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeDataflow, type ExecutionRequest } from '../../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { openStore } from '../../src/stores/open-store.js';
import { outputLines, tallyFlow } from './run-helpers.js';

/**
 * A checkpointed file run starts with a small epoch (2 chunks per thread) and grows its
 * epochs towards the interval. A template the resource ran before starts at the rate it
 * measured then, so a run shorter than the interval pays one epoch's pause, not four or five
 * — unless the run can commit to a persistent store: a replay before the first checkpoint
 * must then read exactly the same first epoch on whatever resource replays it.
 */
describe('checkpoint epochs of a template run again on the same warm resource', () => {
  let scratch: string;
  let provider: LocalProvider;
  let pool: PreProvisioningService;
  let flow: LoadedFlow;
  const ITEMS = 150_000;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-epoch-sizing-'));
    const flowFile = tallyFlow(scratch, {
      name: 'epoch_sizing',
      items: ITEMS,
      users: 997,
      pad: (id) => 'x'.repeat(20 + (id % 17)),
      keepId: true,
    });
    flow = await loadFlow(flowFile);
    provider = new LocalProvider({
      root: path.join(scratch, 'workers'),
      capacity: { cpu_cores: 2, memory_gb: 8, gpus: 0 },
    });
    pool = new PreProvisioningService({ provider });
  });
  afterAll(async () => {
    await pool?.close();
    await provider?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function run(name: string, extra: Partial<ExecutionRequest> = {}) {
    const groups = planGroups(flow.template);
    const rprs = fitGroupRprs(ruleRprs(flow.template, 100), groups, 2);
    const outDir = path.join(scratch, name);
    const status = await executeDataflow(
      {
        tenant: 'epochs',
        flow,
        rprs,
        groups,
        out_dir: outDir,
        // ~560 chunks; an interval no run here reaches, so epochs only grow.
        chunk_bytes: 16 * 1024,
        checkpoint_interval_ms: 60_000,
        ...extra,
      },
      { provider, pool },
    );
    expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
    expect(status.provisioning).toBe('warm');
    return { status, outDir };
  }

  async function warm(): Promise<void> {
    const groups = planGroups(flow.template);
    const rprs = fitGroupRprs(ruleRprs(flow.template, 100), groups, 2);
    await pool.preProvision({ flow, rprs, tenant: 'epochs', groups, sets: 1 });
  }

  it('memory state and a JSONL sink: the second run is one epoch, with the same output', async () => {
    await warm();
    const first = await run('first');
    const second = await run('second');
    // 2 chunks per thread, then x4 per epoch: 4, 16, 64, 256 chunks, then the rest.
    expect(first.status.checkpoints!.epochs).toBeGreaterThanOrEqual(4);
    expect(second.status.checkpoints!.epochs).toBe(1);
    const lines = (dir: string) => outputLines(path.join(dir, 'Tally.jsonl')).sort();
    const a = lines(first.outDir);
    expect(a).toHaveLength(ITEMS);
    expect(lines(second.outDir)).toEqual(a);
    const tally = second.status.nodes.find((n) => n.node_id === 'tally')!;
    expect(tally.records_in).toBe(ITEMS);
    expect(tally.state_keys).toBe(997);
  }, 120_000);

  it('state kept in a SQLite store: every run starts with the small fixed epoch', async () => {
    await pool.close();
    pool = new PreProvisioningService({ provider });
    await warm();
    const stores = (name: string) => ({
      stores: { db: { kind: 'sqlite' as const, path: path.join(scratch, `${name}.db`) } },
      state_store: 'db',
    });
    const first = await run('kept-first', stores('kept-first'));
    const second = await run('kept-second', stores('kept-second'));
    expect(first.status.checkpoints!.epochs).toBeGreaterThanOrEqual(4);
    expect(second.status.checkpoints!.epochs).toBe(first.status.checkpoints!.epochs);
    // The last epoch's state changes still reach the store that keeps the state.
    const store = await openStore('db', stores('kept-second').stores.db);
    try {
      const counts = new Map<string, unknown>();
      for await (const [key, value] of store.entries('state/epoch_sizing/tally'))
        counts.set(key, value);
      expect(counts.size).toBe(997);
      let total = 0;
      for (const value of counts.values()) total += value as number;
      expect(total).toBe(ITEMS);
    } finally {
      await store.close();
    }
  }, 120_000);
});
