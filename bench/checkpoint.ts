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
 * Live: the first `BENCH_LIVE_RECORDS` (200,000) records published to a JetStream stream,
 * read by the same flow through a new consumer group per run, checkpoints off (at-least-once
 * commits) and on (epochs: exactly-once), alternating, medians; skipped when NATS
 * (`WARMFLOW_BENCH_NATS_URL`, default 127.0.0.1:4222) is not reachable.
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
import type { CompletionStatus } from '../src/execute/completion-status.js';
import { connectNats, type NatsHandle } from '../src/sources/nats/nats-connection.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const KILLS = Number(process.env.BENCH_KILLS ?? 5);
const LIVE_RECORDS = Number(process.env.BENCH_LIVE_RECORDS ?? 200_000);
const NATS = process.env.WARMFLOW_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Purchases per user, computed without the engine (the check every run must pass). */
function expectedCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
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
  const lines = readFileSync(bench.input, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const expected = expectedCounts(lines);
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
      live?: { url: string; records: number; expected: Map<string, number> },
    ) => {
      const t = performance.now();
      const want = live?.expected ?? expected;
      const wantBuys = [...want.values()].reduce((a, b) => a + b, 0);
      const status = await executeDataflow(
        {
          tenant: 'bench',
          flow,
          rprs,
          groups,
          out_dir: `${bench.dir}/out`,
          inputs: { '*': live?.url ?? bench.input },
          checkpoint_interval_ms: interval,
          ...(live !== undefined ? { live: { max_records: live.records } } : {}),
        },
        { provider, pool, ...(onEvent !== undefined ? { onEvent } : {}) },
      );
      const ms = performance.now() - t;
      const count = status.nodes.find((n) => n.node_id === 'count')!;
      if (
        status.outcome !== 'succeeded' ||
        count.records_in !== wantBuys ||
        count.state_keys !== want.size
      )
        throw new Error(
          `the run does not match the loop: ${JSON.stringify({ outcome: status.outcome, error: status.error, buys: wantBuys, got: count.records_in, keys: want.size, got_keys: count.state_keys })}`,
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
    const liveFigures = await liveTrials(run, lines.slice(0, LIVE_RECORDS));
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
        ...liveFigures,
      }),
    );
  } finally {
    await pool.close();
    await provider.close();
    rmSync(bench.dir, { recursive: true, force: true });
  }
}

/**
 * The live phase: the first {@link LIVE_RECORDS} records on a JetStream stream, read through a
 * new group per run, checkpoints off and on alternating. Null figures without NATS.
 */
async function liveTrials(
  run: (
    interval: number,
    onEvent: undefined,
    live: { url: string; records: number; expected: Map<string, number> },
  ) => Promise<{ ms: number; status: CompletionStatus }>,
  lines: readonly string[],
): Promise<Record<string, number | null>> {
  let handle: NatsHandle;
  try {
    handle = await connectNats(NATS);
  } catch {
    console.log(`live: NATS is not reachable at ${NATS}, skipped`);
    return { live_records: null };
  }
  const stream = `BENCH_CKPT_${process.pid}`;
  try {
    await handle.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const js = handle.jetstream.jetstream(handle.nc);
    for (let at = 0; at < lines.length; at += 1000)
      await Promise.all(lines.slice(at, at + 1000).map((l) => js.publish(`${stream}.in`, l)));
    const expected = expectedCounts(lines);
    const off: number[] = [];
    const on: number[] = [];
    let epochs = 0;
    for (let trial = 0; trial <= TRIALS; trial++) {
      const once = async (interval: number) =>
        run(interval, undefined, {
          url: `${NATS}/${stream}?subject=${stream}.in&group=g${trial}_${interval}`,
          records: lines.length,
          expected,
        });
      const a = await once(0);
      const b = await once(DEFAULT_CHECKPOINT_INTERVAL_MS);
      // The first pair warms up.
      if (trial === 0) continue;
      off.push(a.ms);
      on.push(b.ms);
      epochs = b.status.checkpoints?.epochs ?? 0;
      console.log(
        `live trial ${trial}: off ${Math.round(lines.length / (a.ms / 1000))}/s, on ${Math.round(lines.length / (b.ms / 1000))}/s (${epochs} epochs)`,
      );
    }
    const rate = (ms: number[]) => Math.round((lines.length / median(ms)) * 1000);
    return {
      live_records: lines.length,
      live_epochs_per_run: epochs,
      live_off_records_per_s: rate(off),
      live_on_records_per_s: rate(on),
      live_overhead: Math.round((1 - rate(on) / rate(off)) * 1000) / 1000,
    };
  } finally {
    await handle.jsm.streams.delete(stream).catch(() => undefined);
    await handle.nc.close();
  }
}

await main();
