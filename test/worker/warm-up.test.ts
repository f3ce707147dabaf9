import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeDataflow } from '../../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { tallyFlow } from '../execute/run-helpers.js';

/**
 * A warm pool's resource runs warmflow's own warm-up flow once ready (so its first run finds
 * the heap grown and the data plane compiled); a run that comes meanwhile stops it first.
 * Either way the run's results are exactly those of the input: nothing of the warm-up run
 * (its records, its keyed state, its messages between threads) reaches it.
 */
describe('the warm-up of a pooled resource', () => {
  let scratch: string;
  let provider: LocalProvider;
  let flow: LoadedFlow;
  const ITEMS = 40_000;
  const USERS = 613;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-warm-up-'));
    const flowFile = tallyFlow(scratch, { name: 'warm_up_check', items: ITEMS, users: USERS });
    flow = await loadFlow(flowFile);
    provider = new LocalProvider({
      root: path.join(scratch, 'workers'),
      capacity: { cpu_cores: 2, memory_gb: 8, gpus: 0 },
    });
  });
  afterAll(async () => {
    await provider?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const groups = () => planGroups(flow.template);
  const rprs = () => fitGroupRprs(ruleRprs(flow.template, 100), groups(), 2);

  /** Every worker log line of tenant `tenant` so far. */
  function workerLog(tenant: string): string {
    const dir = path.join(scratch, 'workers', tenant);
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .map((resource) => path.join(dir, resource, 'worker.log'))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file, 'utf8'))
      .join('');
  }

  /** Runs the flow and checks each user's last tally is its item count (exactly, once each). */
  async function runAndCheck(
    tenant: string,
    pool: PreProvisioningService | undefined,
    input?: string,
  ) {
    const outDir = path.join(scratch, `${tenant}-out-${Math.random().toString(36).slice(2)}`);
    const status = await executeDataflow(
      {
        tenant,
        flow,
        rprs: rprs(),
        groups: groups(),
        out_dir: outDir,
        ...(input !== undefined ? { inputs: { items: input } } : {}),
      },
      pool === undefined ? { provider, cold: true } : { provider, pool },
    );
    expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
    const tallies = readFileSync(path.join(outDir, 'Tally.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { user: string; n: number });
    expect(tallies).toHaveLength(ITEMS);
    const last = new Map<string, number>();
    for (const t of tallies) last.set(t.user, Math.max(last.get(t.user) ?? 0, t.n));
    const expected = new Map<string, number>();
    for (let id = 0; id < ITEMS; id++) {
      const user = `u${(id * 7919) % USERS}`;
      expected.set(user, (expected.get(user) ?? 0) + 1);
    }
    expect(last).toEqual(expected);
    return status;
  }

  it('warms up once ready, and the run after it is exact', async () => {
    const pool = new PreProvisioningService({ provider });
    try {
      await pool.preProvision({ flow, rprs: rprs(), tenant: 'after', groups: groups(), sets: 1 });
      for (let i = 0; i < 200 && !workerLog('after').includes('data plane warmed up'); i++)
        await sleep(100);
      expect(workerLog('after')).toContain('data plane warmed up');
      const status = await runAndCheck('after', pool);
      expect(status.provisioning).toBe('warm');
      expect(workerLog('after')).not.toContain('warm-up failed');
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a run claimed while the resource warms up stops the warm-up and is exact', async () => {
    const pool = new PreProvisioningService({ provider });
    try {
      await pool.preProvision({ flow, rprs: rprs(), tenant: 'during', groups: groups(), sets: 1 });
      const status = await runAndCheck('during', pool);
      expect(status.provisioning).toBe('warm');
      // Claimed at once: the warm-up (a run of 100,000 records) had not finished.
      expect(workerLog('during')).not.toContain('data plane warmed up');
      expect(workerLog('during')).toContain('warm-up stopped for a run');
      expect(workerLog('during')).not.toContain('warm-up run failed');
      // The resource goes back to the pool: the next run on it is exact too.
      await runAndCheck('during', pool);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a pushed run (CSV input) claimed during the warm-up is exact', async () => {
    // A CSV is read by the orchestrator and pushed in batches (`df.batch`) to the threads.
    const csv = path.join(scratch, 'items.csv');
    const rows = ['id,user'];
    for (let id = 0; id < ITEMS; id++) rows.push(`${id},u${(id * 7919) % USERS}`);
    writeFileSync(csv, rows.join('\n') + '\n');
    const pool = new PreProvisioningService({ provider });
    try {
      await pool.preProvision({ flow, rprs: rprs(), tenant: 'pushed', groups: groups(), sets: 1 });
      const status = await runAndCheck('pushed', pool, csv);
      expect(status.provisioning).toBe('warm');
      expect(workerLog('pushed')).toContain('warm-up stopped for a run');
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('an on-demand resource does not warm up (its run comes at once)', async () => {
    const status = await runAndCheck('cold', undefined);
    expect(status.provisioning).toBe('on_demand');
    await sleep(300);
    expect(workerLog('cold')).toContain('data plane warm');
    expect(workerLog('cold')).not.toContain('warmed up');
  }, 60_000);
});
