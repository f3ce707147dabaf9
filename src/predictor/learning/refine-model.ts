import type { FunctionObservation } from './past-runs.js';
import {
  cpuUsPerRecord,
  cpuUsPerRecordOverRun,
  peakMemoryBytes,
  type FunctionModel,
} from '../model/function-model.js';
import { decayWeights, huberLine, relativeSpread, weightedMedian } from './robust-fit.js';

/** Options of {@link refineModel}. */
export interface RefineOptions {
  /** Records in flight in a node's buffers (the executor's batches × batches in flight). */
  bufferedRecords: number;
  /** Runs after which an observation counts half (default 5). */
  halfLife?: number;
  /** Extra weight factor per observation (e.g. 0.5 for other templates' runs of the same code). */
  weights?: number[];
}

/**
 * Refines a prior model (calibration or defaults) from measured runs, newest first.
 *
 * CPU: when runs differ in length, a Huber line of total CPU on the work done gives
 * the one-off cost per run (its intercept); then, with three or more runs spread over
 * record sizes (≥ 20 %), a Huber line of warm µs per record on record size, otherwise
 * the prior's shape scaled by the weighted median of measured / predicted. Memory: peak
 * minus the buffer term, regressed (Huber) on key cardinality when runs differ in it
 * (unkeyed nodes: on run length), else the prior scaled the same way. Weights decay by
 * run age. The confidence widths come from the robust spread of relative residuals.
 */
export function refineModel(
  prior: FunctionModel,
  observations: readonly FunctionObservation[],
  options: RefineOptions,
): FunctionModel {
  const obs = observations.filter((o) => o.records_in > 0);
  if (obs.length === 0) return prior;
  const decay = decayWeights(obs.length, options.halfLife ?? 5);
  const ws = decay.map((w, i) => w * (options.weights?.[i] ?? 1));
  const model: FunctionModel = { ...prior, notes: [...prior.notes] };
  const n = obs.length;

  // One-off CPU per run: the intercept of total CPU against the work the runs did, when
  // their lengths differ enough to tell it apart; else what the prior says.
  const totals = obs.map((o) => o.cpu_us_per_record * o.records_in);
  const work = obs.map(
    (o) => o.records_in * Math.max(1e-9, cpuUsPerRecord(prior, o.avg_record_size)),
  );
  // A prior's one-off cost (measured on another resource, another run length) can exceed
  // what a short run used in all: it may then be at most half of the smallest run's CPU.
  model.cpu_fixed_us = Math.min(prior.cpu_fixed_us, 0.5 * Math.min(...totals));
  if (n >= 3 && relativeSpread(work) >= 0.2) {
    // Weighted by 1/work so long and short runs count alike (errors are relative).
    const fit = huberLine(
      work,
      totals,
      ws.map((w, i) => w / work[i]),
    );
    model.cpu_fixed_us = Math.max(0, fit.a);
  }
  // Warm CPU per record of each run, its share of the one-off cost taken out.
  const sizes = obs.map((o) => o.avg_record_size);
  const cpus = obs.map((o, i) => Math.max(0, (totals[i] - model.cpu_fixed_us) / o.records_in));
  if (n >= 3 && relativeSpread(sizes) >= 0.2) {
    const fit = huberLine(sizes, cpus, ws);
    if (fit.a >= 0) {
      model.cpu_us_base = fit.a;
      model.cpu_us_per_byte = fit.b;
    } else {
      model.cpu_us_base = 0;
      model.cpu_us_per_byte = weightedMedian(
        cpus.map((c, i) => c / Math.max(1, sizes[i])),
        ws,
      );
    }
  } else {
    const factor = weightedMedian(
      obs.map((o, i) => cpus[i] / Math.max(1e-9, cpuUsPerRecord(prior, o.avg_record_size))),
      ws,
    );
    model.cpu_us_base = prior.cpu_us_base * factor;
    model.cpu_us_per_byte = prior.cpu_us_per_byte * factor;
  }

  // Peak memory against key cardinality, the buffer term taken out first.
  const keys = obs.map((o) => o.key_cardinality ?? 0);
  const buffers = obs.map(
    (o) =>
      peakMemoryBytes(prior, {
        recordSize: o.avg_record_size,
        bufferedRecords: options.bufferedRecords,
        keys: 0,
        records: 0,
      }).buffers,
  );
  const rest = obs.map((o, i) => o.peak_memory_bytes - buffers[i]);
  const keyed = keys.some((k) => k > 0);
  if (keyed && n >= 3 && relativeSpread(keys) >= 0.2) {
    const fit = huberLine(keys, rest, ws);
    model.memory_per_key_bytes = fit.b;
    model.memory_base_bytes = Math.max(0, fit.a);
    model.memory_retained_per_record_bytes = 0;
  } else if (!keyed && n >= 3 && relativeSpread(obs.map((o) => o.records_in)) >= 0.2) {
    // An unkeyed node's peak still grows with run length (heap expanded between major
    // GCs, caches): a line in records processed.
    const fit = huberLine(
      obs.map((o) => o.records_in),
      rest,
      ws,
    );
    model.memory_retained_per_record_bytes = fit.b;
    model.memory_base_bytes = Math.max(0, fit.a);
  } else {
    const predicted = obs.map((o, i) => {
      const m = peakMemoryBytes(prior, {
        recordSize: o.avg_record_size,
        bufferedRecords: options.bufferedRecords,
        keys: keys[i],
        records: o.records_in,
      });
      return m.total - m.buffers;
    });
    const factor = weightedMedian(
      rest.map((r, i) => r / Math.max(1, predicted[i])),
      ws,
    );
    model.memory_base_bytes = prior.memory_base_bytes * factor;
    model.memory_per_key_bytes = prior.memory_per_key_bytes * factor;
    model.memory_retained_per_record_bytes = prior.memory_retained_per_record_bytes * factor;
  }

  const selectivities = obs.map((o) => o.records_out / o.records_in);
  model.selectivity = weightedMedian(selectivities, ws);

  // Confidence: robust spread of relative residuals, wider with few runs.
  const cpuRel = obs.map((o) =>
    relError(o.cpu_us_per_record, cpuUsPerRecordOverRun(model, o.avg_record_size, o.records_in)),
  );
  const memRel = obs.map((o, i) =>
    relError(
      o.peak_memory_bytes,
      peakMemoryBytes(model, {
        recordSize: o.avg_record_size,
        bufferedRecords: options.bufferedRecords,
        keys: keys[i],
        records: o.records_in,
      }).total,
    ),
  );
  const widen = 1 + 1 / n;
  model.cpu_rel_error = Math.max(0.05, 1.4826 * weightedMedian(cpuRel, ws)) * widen;
  model.mem_rel_error = Math.max(0.05, 1.4826 * weightedMedian(memRel, ws)) * widen;
  const priorTotals = obs.map(
    (o) => cpuUsPerRecordOverRun(prior, o.avg_record_size, o.records_in) * o.records_in,
  );
  blendCpuWithPrior(model, prior, sizes, ws, priorCpuMiss(totals, priorTotals, ws));
  model.basis = 'history';
  model.history_runs = n;
  model.notes.push(`refined from ${n} measured run${n === 1 ? '' : 's'} (recent weighted more)`);
  return model;
}

function relError(measured: number, predicted: number): number {
  return predicted > 0 ? Math.abs(measured - predicted) / predicted : 1;
}

/**
 * How far a prior's CPU lay from the runs it can be checked against: the absolute
 * weighted median of log(measured / predicted) over them (0 with no runs). The prior's
 * own error (`cpu_rel_error`) is what it claims; this is what the runs show.
 *
 * @example
 * ```ts
 * priorCpuMiss([200, 210], [100, 100], [1, 1]); // ≈ 0.72: the prior said half
 * ```
 */
export function priorCpuMiss(
  measured: readonly number[],
  predicted: readonly number[],
  ws: readonly number[],
): number {
  const logs = measured.map((m, i) =>
    m > 0 && predicted[i] > 0 ? Math.log(m / predicted[i]) : Number.NaN,
  );
  const kept = logs.map((_, i) => i).filter((i) => Number.isFinite(logs[i]));
  if (kept.length === 0) return 0;
  return Math.abs(
    weightedMedian(
      kept.map((i) => logs[i]),
      kept.map((i) => ws[i]),
    ),
  );
}

/**
 * Inverse-variance blend of the warm CPU per record learned from history with the
 * prior's (calibration or defaults), in log space at the runs' mean record size. Runs
 * that agree with each other dominate; runs that scatter (a noisy machine, apportioned
 * CPU) lean on a calibration measured on this very code and data.
 *
 * The prior's variance is its claimed error plus the square of `priorMiss`, how far it
 * missed the measured runs ({@link priorCpuMiss}): an engine calibration measures warm
 * passes over a short sample, and a real run that warms up over many records can cost
 * twice that (iot in `bench:predict`). Its claimed ±25 % alone would let a prior that
 * every past run contradicts pull the prediction towards it.
 */
export function blendCpuWithPrior(
  model: FunctionModel,
  prior: FunctionModel,
  sizes: number[],
  ws: number[],
  priorMiss = 0,
): void {
  const size = sizes.reduce((s, x, i) => s + x * ws[i], 0) / ws.reduce((s, w) => s + w, 0);
  const learned = cpuUsPerRecord(model, size);
  const before = cpuUsPerRecord(prior, size);
  if (!(learned > 0 && before > 0)) return;
  const wLearned = 1 / model.cpu_rel_error ** 2;
  const wPrior = 1 / (Math.max(0.05, prior.cpu_rel_error) ** 2 + priorMiss ** 2);
  const blended = Math.exp(
    (wLearned * Math.log(learned) + wPrior * Math.log(before)) / (wLearned + wPrior),
  );
  model.cpu_us_base *= blended / learned;
  model.cpu_us_per_byte *= blended / learned;
  model.cpu_rel_error = 1 / Math.sqrt(wLearned + wPrior);
  if (wPrior > wLearned)
    model.notes.push(
      `past runs scatter (±${Math.round(100 / Math.sqrt(wLearned))} %): CPU leans on the ${prior.basis}`,
    );
}
