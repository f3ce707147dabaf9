/**
 * `npm run bench:latency`: execution request -> first output record, from the warm pool
 * versus `--cold` (on-demand: start a worker, load the function, then run), 30 trials each,
 * alternating. Measured by the CompletionStatus' `request_to_first_record_ms` (orchestrator
 * clock, request received -> first record written to the JSONL sink).
 * Last line: one JSON object with cold_ms_p50, warm_ms_p50 and ratio (cold / warm), and
 * `warm_ms_p50_back_to_back`: the same warm run repeated 5 ms apart afterwards (no idle
 * pause, no cold start between), what the path costs while the machine's caches stay warm.
 * `warm_ms_p50_ci90` and `ratio_ci90`: bootstrap 90 % intervals of the two over the trials, so
 * a difference between two runs of the bench can be told from its noise.
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { executeDataflow } from '../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../src/execute/plan.js';
import { ruleRprs } from '../src/predictor/rule-rprs.js';
import { findTaskset, type CpuPinningMode } from '../src/provision/local/cpu-pinning.js';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../src/provision/pool/pre-provisioning-service.js';
import { loadFlow } from '../src/template/load-flow.js';
import { latencyFlow } from './bench-flows.js';
import { bootstrap90 } from './predict-stats.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 30);
/**
 * CPU placement of the pool's resources (`BENCH_CPU_PINNING`, default `exclusive`): the warm
 * resource (one core) has a CPU of its own, the orchestrator and the on-demand resource of
 * the cold runs share the others — as a latency-sensitive deployment is set up
 * (`warmflow serve --cpu-pinning exclusive`). `none` measures the kernel's own placement (also
 * the choice where `taskset` is missing); the last line says which was used.
 */
const PINNING: CpuPinningMode =
  process.env.BENCH_CPU_PINNING === 'none' || findTaskset() === null ? 'none' : 'exclusive';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const bench = latencyFlow();
  const flow = await loadFlow(bench.flowFile);
  const provider = new LocalProvider({ cpuPinning: PINNING });
  const pool = new PreProvisioningService({ provider });
  try {
    const groups = planGroups(flow.template);
    // One core per set, so the warm set and a cold one fit side by side on a 2-core machine.
    const rprs = fitGroupRprs(ruleRprs(flow.template, 60), groups, 1);
    await pool.preProvision({ flow, rprs, tenant: 'bench', groups, sets: 1 });
    const request = {
      tenant: 'bench',
      flow,
      rprs,
      groups,
      out_dir: `${bench.dir}/out`,
      inputs: { '*': bench.input },
    };
    const warm: number[] = [];
    const cold: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const w = await executeDataflow(request, { provider, pool });
      const c = await executeDataflow(request, { provider, pool, cold: true });
      for (const [status, into, kind] of [
        [w, warm, 'warm'],
        [c, cold, 'on_demand'],
      ] as const) {
        if (
          status.outcome !== 'succeeded' ||
          status.provisioning !== kind ||
          status.records.out !== 200
        ) {
          throw new Error(
            `trial ${trial + 1}: ${kind} run did not succeed: ${JSON.stringify(status.error ?? status.records)}`,
          );
        }
        into.push(status.timings.request_to_first_record_ms!);
      }
      console.log(`trial ${trial + 1}: warm ${r2(warm.at(-1)!)} ms, cold ${r2(cold.at(-1)!)} ms`);
      // Let the pool's refill timer see the returned set before the next claim.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // The warm path without the idle pause: the same run back to back, 5 ms apart.
    const backToBack: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const w = await executeDataflow(request, { provider, pool });
      if (w.outcome !== 'succeeded' || w.provisioning !== 'warm' || w.records.out !== 200)
        throw new Error(`back-to-back warm run ${trial + 1} did not succeed`);
      backToBack.push(w.timings.request_to_first_record_ms!);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const warmP50 = quantile(warm, 0.5);
    const coldP50 = quantile(cold, 0.5);
    // How far one run of the bench can be trusted: the trials resampled (a trial's warm and
    // cold run together), 90 % of the medians and ratios between these bounds.
    const trials = warm.map((w, i) => [w, cold[i]] as const);
    const warmCi = bootstrap90(warm, (xs) => quantile(xs, 0.5));
    const ratioCi = bootstrap90(
      trials,
      (xs) =>
        quantile(
          xs.map((t) => t[1]),
          0.5,
        ) /
        quantile(
          xs.map((t) => t[0]),
          0.5,
        ),
    );
    console.log(
      JSON.stringify({
        trials: TRIALS,
        warm_ms_p50: r2(warmP50),
        warm_ms_p90: r2(quantile(warm, 0.9)),
        cold_ms_p50: r2(coldP50),
        cold_ms_p90: r2(quantile(cold, 0.9)),
        ratio: r2(coldP50 / warmP50),
        warm_ms_p50_ci90: warmCi.map(r2),
        ratio_ci90: ratioCi.map(r2),
        warm_ms_p50_back_to_back: r2(quantile(backToBack, 0.5)),
        goal: { warm_ms_p50_below: 2, ratio_at_least: 100 },
        cpu_pinning: PINNING,
        load_average: loadavg().map((l) => r2(l)),
      }),
    );
  } finally {
    await pool.close();
    await provider.close();
    rmSync(bench.dir, { recursive: true, force: true });
  }
}

await main();
