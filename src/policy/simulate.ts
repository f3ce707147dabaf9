import { WarmflowError } from '../errors.js';
import { DEFAULT_COST_MODEL, outcomeCost, type CostModel } from './cost-model.js';
import { fixedPolicy } from './fixed-policy.js';
import type { KeepAlivePolicy, PolicyLedger, PolicyUnit } from './keep-alive-policy.js';
import type { Trace } from './trace/load-trace.js';

/** The outcome of one policy on a trace (minutes t < `until`). */
export interface PolicyReport {
  /** Units (HashFunction) in the trace. */
  functions: number;
  invocations: number;
  cold_starts: number;
  /** cold_starts / invocations. */
  cold_start_ratio: number;
  /** 75th percentile (nearest rank) over functions with invocations of 100 × cold starts / invocation minutes. */
  p75: number;
  /** Σ over functions of MB × minutes loaded without an invocation. */
  wasted_mb_minutes: number;
  /** wasted_mb_minutes / that of `fixed:10` (null when fixed:10 wastes nothing). */
  wasted_vs_fixed10: number | null;
  /** wasted MB-minutes × idle price + cold starts × cold-start value, under the cost model. */
  cost: number;
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Count only minutes t < until (the simulation runs the same). Default: the whole trace. */
  until?: number;
  costModel?: CostModel;
}

/** Minute-indexed invocations of every function (compressed rows: fast per-minute steps). */
interface MinuteIndex {
  start: Int32Array;
  fn: Int32Array;
  count: Float64Array;
}

function indexByMinute(trace: Trace): MinuteIndex {
  const T = trace.minutes;
  const start = new Int32Array(T + 1);
  for (const f of trace.functions) for (const t of f.minutes) start[t + 1]++;
  for (let t = 0; t < T; t++) start[t + 1] += start[t];
  const fill = start.slice(0, T);
  const fn = new Int32Array(start[T]);
  const count = new Float64Array(start[T]);
  trace.functions.forEach((f, i) => {
    for (let k = 0; k < f.minutes.length; k++) {
      const at = fill[f.minutes[k]]++;
      fn[at] = i;
      count[at] = f.counts[k];
    }
  });
  return { start, fn, count };
}

/** Per-policy simulation state: windows, counters and the running totals of the ledger. */
class PolicyRun {
  readonly policy: KeepAlivePolicy;
  readonly units: PolicyUnit[];
  readonly from: Float64Array;
  readonly to: Float64Array;
  /** Closed idle loaded minutes per function (windows already replaced). */
  readonly idleMinutes: Float64Array;
  readonly cold: Int32Array;
  readonly invocationMinutes: Int32Array;
  /** Change of the loaded-MB rate at each minute (windows clipped to the trace). */
  readonly rateDelta: Float64Array;
  rate = 0;
  invocations = 0;
  coldStarts = 0;
  wasted = 0;
  outstanding = 0;

  constructor(policy: KeepAlivePolicy, trace: Trace) {
    const F = trace.functions.length;
    this.policy = policy;
    this.units = trace.functions.map((f) =>
      policy.unit({
        key: f.id,
        memoryMb: f.memoryMb,
        ...(f.trigger === undefined ? {} : { trigger: f.trigger }),
      }),
    );
    this.from = new Float64Array(F).fill(Infinity);
    this.to = new Float64Array(F).fill(-Infinity);
    this.idleMinutes = new Float64Array(F);
    this.cold = new Int32Array(F);
    this.invocationMinutes = new Int32Array(F);
    this.rateDelta = new Float64Array(trace.minutes + 1);
  }
}

/**
 * Replays a trace under each policy, one-minute steps t = 0..T−1, nothing loaded at
 * t = 0. In a minute with c > 0 invocations a loaded function serves them all warm; an
 * unloaded one has one cold start (the rest are warm) and counts as loaded. A loaded
 * minute without invocations wastes the function's MB. After each invocation minute P
 * the policy's window (pre, ka) makes the function unloaded in P+1..P+pre and loaded in
 * P+pre+1..P+pre+ka, replacing earlier windows. `fixed:10` runs alongside as the
 * reference every budget and `wasted_vs_fixed10` is measured against.
 *
 * Policies are handed each minute as it happens and nothing later, so a result for
 * minutes < N never depends on minutes ≥ N.
 */
export function simulate(
  trace: Trace,
  policies: readonly KeepAlivePolicy[],
  options: SimulateOptions = {},
): PolicyReport[] {
  const T = trace.minutes;
  const until = options.until ?? T;
  if (!Number.isInteger(until) || until < 0) {
    throw new WarmflowError('E_INVALID_UNTIL', `until must be an integer ≥ 0, got ${until}`);
  }
  const model = options.costModel ?? DEFAULT_COST_MODEL;
  const memory = Float64Array.from(trace.functions, (f) => f.memoryMb);
  const index = indexByMinute(trace);
  const reference = new PolicyRun(fixedPolicy(10), trace);
  const runs = policies.map((p) => new PolicyRun(p, trace));
  const all = [reference, ...runs];
  const snapshots = new Map<PolicyRun, Omit<PolicyReport, 'wasted_vs_fixed10' | 'cost'>>();
  const ledger: PolicyLedger = {
    minute: 0,
    wastedMbMinutes: 0,
    outstandingMbMinutes: 0,
    referenceWastedMbMinutes: 0,
  };
  const last = Math.min(until, T);
  for (let t = 0; t <= T; t++) {
    if (t === last) for (const run of all) snapshots.set(run, snapshot(run, trace, memory, t));
    if (t === T) break;
    const lo = index.start[t];
    const hi = index.start[t + 1];
    for (const run of all) {
      run.rate += run.rateDelta[t];
      let used = 0;
      for (let k = lo; k < hi; k++) {
        const f = index.fn[k];
        run.invocations += index.count[k];
        run.invocationMinutes[f]++;
        const loaded = run.from[f] <= t && t <= run.to[f];
        if (loaded) used += memory[f];
        else {
          run.cold[f]++;
          run.coldStarts++;
        }
      }
      run.wasted += run.rate - used;
      run.outstanding -= run.rate;
      ledger.minute = t;
      ledger.referenceWastedMbMinutes = reference.wasted;
      for (let k = lo; k < hi; k++) decide(run, index.fn[k], index.count[k], t, memory, ledger, T);
    }
  }
  const referenceWasted = snapshots.get(reference)!.wasted_mb_minutes;
  return runs.map((run) => {
    const s = snapshots.get(run)!;
    return {
      ...s,
      wasted_vs_fixed10: referenceWasted > 0 ? round(s.wasted_mb_minutes / referenceWasted) : null,
      cost: round(outcomeCost(s.wasted_mb_minutes, s.cold_starts, model)),
    };
  });
}

function decide(
  run: PolicyRun,
  f: number,
  count: number,
  t: number,
  memory: Float64Array,
  ledger: PolicyLedger,
  T: number,
): void {
  const mb = memory[f];
  const from = run.from[f];
  const to = run.to[f];
  if (from <= to) {
    // The old window's minutes before t were all idle (t is the next invocation).
    const idleEnd = Math.min(to, t - 1);
    if (idleEnd >= from) run.idleMinutes[f] += idleEnd - from + 1;
    const restFrom = Math.max(from, t + 1);
    if (restFrom <= to) {
      run.outstanding -= (to - restFrom + 1) * mb;
      if (restFrom < T) {
        run.rateDelta[restFrom] -= mb;
        if (to + 1 < T) run.rateDelta[to + 1] += mb;
      }
    }
  }
  ledger.wastedMbMinutes = run.wasted;
  ledger.outstandingMbMinutes = run.outstanding;
  const decision = run.units[f].afterInvocation(t, count, ledger);
  const { pre, ka } = decision;
  if (!(
    pre >= 0 &&
    (Number.isInteger(pre) || pre === Infinity) &&
    Number.isInteger(ka) &&
    ka >= 1
  )) {
    throw new WarmflowError(
      'E_POLICY',
      `policy ${run.policy.spec} chose pre=${pre}, ka=${ka} at minute ${t}; needs integers pre ≥ 0, ka ≥ 1`,
    );
  }
  if (pre === Infinity) {
    run.from[f] = Infinity;
    run.to[f] = -Infinity;
    return;
  }
  const newFrom = t + pre + 1;
  const newTo = t + pre + ka;
  run.from[f] = newFrom;
  run.to[f] = newTo;
  run.outstanding += ka * mb;
  if (newFrom < T) {
    run.rateDelta[newFrom] += mb;
    if (newTo + 1 < T) run.rateDelta[newTo + 1] -= mb;
  }
}

function snapshot(
  run: PolicyRun,
  trace: Trace,
  memory: Float64Array,
  until: number,
): Omit<PolicyReport, 'wasted_vs_fixed10' | 'cost'> {
  let wasted = 0;
  const percentages: number[] = [];
  for (let f = 0; f < memory.length; f++) {
    let idle = run.idleMinutes[f];
    // The current window follows the function's last invocation before `until`: idle so far.
    const from = run.from[f];
    const end = Math.min(run.to[f], until - 1);
    if (end >= from) idle += end - from + 1;
    wasted += idle * memory[f];
    if (run.invocationMinutes[f] > 0) {
      percentages.push((100 * run.cold[f]) / run.invocationMinutes[f]);
    }
  }
  percentages.sort((a, b) => a - b);
  const rank = Math.ceil((3 * percentages.length) / 4);
  return {
    functions: trace.functions.length,
    invocations: run.invocations,
    cold_starts: run.coldStarts,
    cold_start_ratio: run.invocations > 0 ? round(run.coldStarts / run.invocations) : 0,
    p75: percentages.length > 0 ? round(percentages[rank - 1]) : 0,
    wasted_mb_minutes: round(wasted),
  };
}

/** Rounds to 9 significant decimals: sums of floats differ in the last bits between implementations. */
function round(x: number): number {
  return Number(x.toPrecision(12));
}
