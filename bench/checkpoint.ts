/**
 * `npm run bench:checkpoint`: what checkpoints cost and how fast a run recovers.
 *
 * Throughput: the throughput flow (1 M JSONL records, parse → map → filter → keyed count,
 * counts to the JSONL sink) on a warm resource, with checkpoints off and on (the default
 * interval), alternating, medians; every run's result is checked against a plain loop's.
 * Recovery: runs with checkpoints on whose worker is killed (`SIGKILL`) at a random moment
 * after its first checkpoint; the run continues on a warm resource if the pool has one,
 * else on one provisioned on demand (two cores hold one set: usually on demand). `recovery_ms` is death detected → the replacement deployed (reading from
 * the checkpoint), `recovery_to_checkpoint_ms` → its first checkpoint recorded (output
 * resumed and committed). Every recovered run's result is checked too.
 * Last line: one JSON object.
 */
import { readFileSync, rmSync } from 'node:fs';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  executeDataflow,
} from '../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../src/execute/plan.js';
import { ruleRprs } from '../src/predictor/rule-rprs.js';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../src/provision/pool/pre-provisioning-service.js';
import { loadFlow } from '../src/template/load-flow.js';
import { throughputFlow } from './bench-flows.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const KILLS = Number(process.env.BENCH_KILLS ?? 5);

/** Purchases per user, computed without the engine (the check every run must pass). */
function expectedCounts(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { user: string; kind: string };
    if (e.kind === 'buy') counts.set(e.user, (counts.get(e.user) ?? 0) + 1);
  }
  return counts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const bench = throughputFlow(RECORDS);
  const flow = await loadFlow(bench.flowFile);
  const expected = expectedCounts(bench.input);
  const buys = [...expected.values()].reduce((a, b) => a + b, 0);
  const provider = new LocalProvider();
  const pool = new PreProvisioningService({ provider });
  try {
    const groups = planGroups(flow.template);
    const capacity = await provider.capacity();
    const rprs = fitGroupRprs(ruleRprs(flow.template, 90), groups, capacity.cpu_cores);
    await pool.preProvision({ flow, rprs, tenant: 'bench', groups, sets: 1 });
    const run = async (
      interval: number,
      onEvent?: (event: string, detail?: Record<string, unknown>) => void,
    ) => {
      const t = performance.now();
      const status = await executeDataflow(
        {
          tenant: 'bench',
          flow,
          rprs,
          groups,
          out_dir: `${bench.dir}/out`,
          inputs: { '*': bench.input },
          checkpoint_interval_ms: interval,
        },
        { provider, pool, ...(onEvent !== undefined ? { onEvent } : {}) },
      );
      const ms = performance.now() - t;
      const count = status.nodes.find((n) => n.node_id === 'count')!;
      if (
        status.outcome !== 'succeeded' ||
        count.records_in !== buys ||
        count.state_keys !== expected.size
      )
        throw new Error(
          `the run does not match the loop: ${JSON.stringify({ outcome: status.outcome, error: status.error, buys, got: count.records_in, keys: expected.size, got_keys: count.state_keys })}`,
        );
      return { ms, status };
    };
    await run(0);
    await run(DEFAULT_CHECKPOINT_INTERVAL_MS);
    const off: number[] = [];
    const on: number[] = [];
    let epochs = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      off.push((await run(0)).ms);
      const checked = await run(DEFAULT_CHECKPOINT_INTERVAL_MS);
      on.push(checked.ms);
      epochs = checked.status.checkpoints?.epochs ?? 0;
      console.log(
        `trial ${trial + 1}: off ${Math.round(RECORDS / (off[trial] / 1000))}/s, on ${Math.round(RECORDS / (on[trial] / 1000))}/s (${epochs} epochs)`,
      );
    }
    const recovery: number[] = [];
    const toCheckpoint: number[] = [];
    const replayed: number[] = [];
    let warm = 0;
    for (let k = 0; k < KILLS; k++) {
      // A warm set for the run; the replacement comes from the pool if it has one again, else on demand.
      await pool.preProvision({ flow, rprs, tenant: 'bench', groups, sets: 1 });
      let killed = false;
      let diedAt = 0;
      let firstAfter: number | null = null;
      const { status } = await run(DEFAULT_CHECKPOINT_INTERVAL_MS, (event, detail) => {
        if (event === 'checkpoint' && !killed) {
          killed = true;
          const victim = detail?.resource_id;
          setTimeout(
            () => {
              void provider.list({ template: flow.template.name }).then((racs) => {
                const pid = racs.find((r) => r.resource_id === victim)?.process_id;
                if (pid !== undefined) process.kill(pid, 'SIGKILL');
              });
            },
            100 + Math.random() * 500,
          );
        }
        if (event === 'recovered') diedAt = performance.now();
        if (event === 'checkpoint' && diedAt > 0 && firstAfter === null)
          firstAfter = performance.now() - diedAt;
      });
      const r = status.checkpoints?.recoveries[0];
      if (r === undefined || r.resumed_after_ms === null)
        throw new Error('the run did not recover');
      recovery.push(r.resumed_after_ms);
      replayed.push(r.records_replayed);
      if (r.warm) warm++;
      if (firstAfter !== null) toCheckpoint.push(firstAfter);
      console.log(
        `kill ${k + 1}: recovered in ${r.resumed_after_ms} ms (${r.warm ? 'warm' : 'on demand'}), from checkpoint ${r.checkpoint_epoch}, ${r.records_replayed} records replayed`,
      );
    }
    const rate = (ms: number[]) => Math.round((RECORDS / median(ms)) * 1000);
    const offRate = rate(off);
    const onRate = rate(on);
    console.log(
      JSON.stringify({
        records: RECORDS,
        trials: TRIALS,
        checkpoint_interval_ms: DEFAULT_CHECKPOINT_INTERVAL_MS,
        epochs_per_run: epochs,
        off_records_per_s: offRate,
        on_records_per_s: onRate,
        overhead: Math.round((1 - onRate / offRate) * 1000) / 1000,
        kills: KILLS,
        warm_recoveries: warm,
        recovery_ms_p50: Math.round(median(recovery)),
        recovery_to_checkpoint_ms_p50:
          toCheckpoint.length > 0 ? Math.round(median(toCheckpoint)) : null,
        records_replayed_p50: median(replayed),
      }),
    );
  } finally {
    await pool.close();
    await provider.close();
    rmSync(bench.dir, { recursive: true, force: true });
  }
}

await main();
