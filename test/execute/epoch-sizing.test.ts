import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  executeDataflow,
  type ExecutionEnvironment,
  type ExecutionRequest,
} from '../../src/execute/execution-manager.js';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { openStore } from '../../src/stores/open-store.js';
import type { CheckpointStore } from '../../src/checkpoint/checkpoint-store.js';
import { SqliteCheckpointStore } from '../../src/checkpoint/sqlite-checkpoint-store.js';
import { outputLines, tallyFlow } from './run-helpers.js';

/**
 * A checkpointed file run starts with a small epoch (2 chunks per thread) and grows its
 * epochs towards the interval. A template the resource ran before starts at the rate it
 * measured then, so a run shorter than the interval pays one epoch's pause, not four or five
 * — also when the run commits to a persistent store: that first epoch is then recorded (the
 * plan) before anything of it commits, so a replay reads exactly the same first epoch.
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
      // Room for a warm set and an on-demand resource beside it (and one a pool still stops).
      capacity: { cpu_cores: 4, memory_gb: 8, gpus: 0 },
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

  const sqliteState = (name: string) => ({
    stores: { db: { kind: 'sqlite' as const, path: path.join(scratch, `${name}.db`) } },
    state_store: 'db',
  });

  /** The final count per user in a SQLite state store: every user, and all items counted once. */
  async function expectExactState(name: string): Promise<void> {
    const store = await openStore('db', sqliteState(name).stores.db);
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
  }

  it('state kept in a SQLite store: the second run is one epoch too, its plan recorded first', async () => {
    await pool.close();
    pool = new PreProvisioningService({ provider });
    await warm();
    const first = await run('kept-first', sqliteState('kept-first'));
    const second = await run('kept-second', sqliteState('kept-second'));
    expect(first.status.checkpoints!.epochs).toBeGreaterThanOrEqual(4);
    // The plan (where the learned first epoch ends) is recorded, not counted as an epoch.
    expect(second.status.checkpoints!.epochs).toBe(1);
    // The last epoch's state changes still reach the store that keeps the state.
    await expectExactState('kept-second');
    const lines = (dir: string) => outputLines(path.join(dir, 'Tally.jsonl')).sort();
    expect(lines(second.outDir)).toEqual(lines(first.outDir));
  }, 120_000);

  /**
   * The tally again, its output appended as rows to the SQLite store that keeps the state: a
   * replay that read another first epoch than the one the store holds by its marker would
   * append some rows twice or never.
   */
  async function rowsFlow(): Promise<{
    flow: LoadedFlow;
    run: (name: string, env?: Partial<ExecutionEnvironment>) => Promise<CompletionStatus>;
    rows: (name: string) => string[];
    warm: () => Promise<void>;
  }> {
    const dir = mkdtempSync(path.join(scratch, 'rows-'));
    const flowFile = tallyFlow(dir, {
      name: 'epoch_sizing_rows',
      items: ITEMS,
      users: 997,
      pad: (id) => 'x'.repeat(20 + (id % 17)),
      keepId: true,
    });
    appendFileSync(
      flowFile,
      'stores:\n  db: { kind: sqlite, path: ./db.sqlite }\ntypes:\n  Tally: { store: db }\n',
    );
    const rowsFlow = await loadFlow(flowFile);
    const groups = planGroups(rowsFlow.template);
    // One core each: a warm set and an on-demand resource fit the provider's two together.
    const rprs = fitGroupRprs(ruleRprs(rowsFlow.template, 100), groups, 1);
    return {
      flow: rowsFlow,
      warm: async () => {
        await pool.close();
        // No refill behind a claim: the set that learned the rate is the only one to claim.
        pool = new PreProvisioningService({ provider, refillDelayMs: 600_000 });
        await pool.preProvision({ flow: rowsFlow, rprs, tenant: 'epochs', groups, sets: 1 });
      },
      run: (name, env = {}) =>
        executeDataflow(
          {
            tenant: 'epochs',
            flow: rowsFlow,
            rprs,
            groups,
            out_dir: path.join(dir, name),
            chunk_bytes: 16 * 1024,
            // Epochs of ~100 ms: the learned first epoch is a part of the file, not all of it.
            checkpoint_interval_ms: 100,
            ...sqliteState(name),
          },
          { provider, pool, ...env },
        ),
      rows: (name) => {
        const db = new Database(sqliteState(name).stores.db.path, { readonly: true });
        try {
          return (
            db
              .prepare("SELECT value FROM warmflow_rows WHERE tbl = 'Tally'")
              .pluck()
              .all() as string[]
          ).sort();
        } finally {
          db.close();
        }
      },
    };
  }

  /**
   * Kills (SIGKILL) the worker `target()` names once the SQLite store `file` holds an epoch
   * marker; with a checkpoint store whose first recording of epoch 0 takes 400 ms more, so
   * the kill lands between the epoch's commit and its checkpoint.
   */
  async function killAfterFirstCommit(file: string, target: () => number | undefined) {
    const real = await SqliteCheckpointStore.open(
      path.join(scratch, `checkpoints-${randomUUID()}.db`),
    );
    let delayed = false;
    const state = { killed: undefined as number | undefined, plans: 0 };
    const checkpoints: CheckpointStore = {
      begin: (r, request) => real.begin(r, request),
      save: async (r, part, checkpoint, changes) => {
        if (checkpoint.epoch === -1) state.plans++;
        if (checkpoint.epoch === 0 && !delayed) {
          delayed = true;
          await new Promise((resolve) => setTimeout(resolve, 400));
        }
        return real.save(r, part, checkpoint, changes);
      },
      latest: (r, part) => real.latest(r, part),
      unfinished: () => real.unfinished(),
      finish: (r) => real.finish(r),
      close: () => real.close(),
    };
    const watch = setInterval(() => {
      if (state.killed !== undefined || !existsSync(file)) return;
      try {
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          if (db.prepare('SELECT count(*) FROM warmflow_epochs').pluck().get() === 0) return;
        } finally {
          db.close();
        }
      } catch {
        return; // not created yet
      }
      const pid = target();
      if (pid === undefined) return;
      process.kill(pid, 'SIGKILL');
      state.killed = pid;
    }, 2);
    return {
      checkpoints,
      state,
      stop: async () => {
        clearInterval(watch);
        await real.close();
      },
    };
  }

  /**
   * The pool, telling `onClaim` the process of each set it hands out, and giving nothing to
   * the first `refuse` claims (the run then starts on demand).
   */
  function watchedPool(onClaim: (pid: number) => void, refuse = 0): PreProvisioningService {
    let refused = 0;
    /** The last claim was refused: the run found nothing ready, nor warming to wait for. */
    let refusing = false;
    return new Proxy(pool, {
      get(target, property) {
        if (property === 'claim')
          return (...args: Parameters<PreProvisioningService['claim']>) => {
            refusing = refused < refuse;
            if (refusing) {
              refused++;
              return null;
            }
            const claim = target.claim(...args);
            const pid = claim?.resources[0]?.rac.process_id;
            if (pid !== undefined) onClaim(pid);
            return claim;
          };
        if (property === 'claimWarming')
          return async (...args: Parameters<PreProvisioningService['claimWarming']>) => {
            if (refusing) return null;
            const claim = await target.claimWarming(...args);
            const pid = claim?.resources[0]?.rac.process_id;
            if (pid !== undefined) onClaim(pid);
            return claim;
          };
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  /** Every row once, the state's final counts exact, one recovery from no recorded epoch. */
  async function expectExactAfterKill(
    flow: Awaited<ReturnType<typeof rowsFlow>>,
    name: string,
    status: CompletionStatus,
    killed: number | undefined,
    expected: string[],
  ): Promise<void> {
    expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
    expect(killed).toBeGreaterThan(0);
    const recoveries = status.checkpoints!.recoveries;
    expect(recoveries, JSON.stringify(recoveries)).toHaveLength(1);
    expect(recoveries[0].checkpoint_epoch, JSON.stringify(recoveries)).toBe(-1);
    // Rows missing and rows extra, counted (a diff of 150,000 rows would take minutes).
    const left = new Map<string, number>();
    for (const row of expected) left.set(row, (left.get(row) ?? 0) + 1);
    let extra = 0;
    for (const row of flow.rows(name)) {
      const n = left.get(row) ?? 0;
      if (n === 0) extra++;
      else left.set(row, n - 1);
    }
    let missing = 0;
    for (const n of left.values()) missing += n;
    expect({ missing, extra }).toEqual({ missing: 0, extra: 0 });
    const store = await openStore('db', sqliteState(name).stores.db);
    try {
      let total = 0;
      for await (const [, value] of store.entries('state/epoch_sizing_rows/tally'))
        total += value as number;
      expect(total).toBe(ITEMS);
    } finally {
      await store.close();
    }
  }

  it('the worker killed once its learned first epoch committed to SQLite, before that epoch was recorded: the replay reads the same epoch from the plan and the store skips it', async () => {
    const flow = await rowsFlow();
    await flow.warm();
    // The reference run teaches the resource the template's rate.
    const reference = await flow.run('planned-reference');
    expect(reference.outcome, JSON.stringify(reference.error)).toBe('succeeded');
    const expected = flow.rows('planned-reference');
    expect(expected).toHaveLength(ITEMS);
    // The run's own resource: the set it claims.
    let running: number | undefined;
    const killer = await killAfterFirstCommit(sqliteState('killed').stores.db.path, () => running);
    try {
      const status = await flow.run('killed', {
        checkpoints: killer.checkpoints,
        pool: watchedPool((pid) => (running ??= pid)),
      });
      // The first resource recorded its plan; that was the last checkpoint recorded (-1):
      // the replay started over from it.
      expect(killer.state.plans).toBe(1);
      await expectExactAfterKill(flow, 'killed', status, killer.state.killed, expected);
    } finally {
      await killer.stop();
    }
  }, 120_000);

  it('a fresh resource killed once its fixed first epoch committed, replaced by a warm one that learned the rate: the replay reads the fixed first epoch', async () => {
    const flow = await rowsFlow();
    await flow.warm();
    const reference = await flow.run('replayed-reference');
    expect(reference.outcome, JSON.stringify(reference.error)).toBe('succeeded');
    const expected = flow.rows('replayed-reference');
    // The run starts on demand (its first claim finds nothing), with no rate: its first
    // epoch is the fixed one, committed without a plan. The replacement is the warm set,
    // which knows the rate; it must not size the replayed first epoch from it.
    let running: number | undefined;
    let claims = 0;
    const onDemand = new Proxy(provider, {
      get(target, property) {
        if (property === 'provision')
          return async (...args: Parameters<LocalProvider['provision']>) => {
            const rac = await target.provision(...args);
            running ??= rac.process_id;
            return rac;
          };
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const killer = await killAfterFirstCommit(
      sqliteState('replayed').stores.db.path,
      () => running,
    );
    try {
      const status = await flow.run('replayed', {
        checkpoints: killer.checkpoints,
        provider: onDemand,
        pool: watchedPool(() => claims++, 1),
      });
      // It started on demand and continued on the warm set.
      expect(claims).toBe(1);
      // Neither the first resource (no rate) nor the replacement (a replay) made a plan.
      expect(killer.state.plans).toBe(0);
      expect(status.checkpoints!.recoveries[0]?.warm).toBe(true);
      await expectExactAfterKill(flow, 'replayed', status, killer.state.killed, expected);
    } finally {
      await killer.stop();
    }
  }, 120_000);
});
