import type { FunctionModel } from '../model/function-model.js';
import type { CalibrateResult } from './sandbox-protocol.js';

/** Heap growth below this over a whole sample is GC noise, not retained memory. */
const HEAP_NOISE_BYTES = 512 * 1024;
/** Smallest plausible cost of one key in a Map of Maps (entry + inner Map). */
const MIN_BYTES_PER_KEY = 160;

/**
 * Turns what the sandbox measured into coefficients. CPU: least squares of µs per
 * record on record size over the size buckets (slope ≥ 0; a single bucket or a narrow
 * size range gives a flat cost); the cold pass's extra CPU is the one-off cost. Memory:
 * the sandbox's peak RSS less what only calibration held is the base, heap per parsed
 * record gives the buffer factor, heap growth per distinct key the state term.
 */
export function modelFromCalibration(
  result: CalibrateResult,
  prior: FunctionModel,
  keyed: boolean,
): FunctionModel {
  const notes: string[] = [];
  const { a, b } = fitCpu(result.buckets);
  const model: FunctionModel = { ...prior, notes };
  model.basis = 'calibration';
  model.cpu_us_base = a;
  model.cpu_us_per_byte = b;
  if (result.records > 0) {
    model.selectivity = result.outputs_count / result.records;
    if (result.outputs_count > 0 && result.avg_input_size > 0) {
      model.output_size_ratio = result.avg_output_size / result.avg_input_size;
    }
  }
  model.cpu_fixed_us = result.cold_extra_cpu_us;
  // The base is the child's peak RSS (V8's young generation and heap slack fill up while
  // records stream through) less what only calibration held: the sample twice parsed,
  // its JSON text, and the state it built.
  const sampleText = result.avg_input_size * result.records;
  const calibrationOnly =
    2 * result.record_heap_bytes * result.records +
    sampleText +
    Math.max(0, result.state_heap_growth_bytes);
  model.memory_base_bytes = Math.max(
    result.base_rss_bytes,
    result.peak_rss_bytes - calibrationOnly,
  );
  if (result.avg_input_size > 0 && result.record_heap_bytes > 0) {
    model.memory_record_factor = result.record_heap_bytes / result.avg_input_size;
  }
  if (keyed && result.distinct_keys > 0) {
    model.memory_per_key_bytes = Math.max(
      MIN_BYTES_PER_KEY,
      result.state_heap_growth_bytes / result.distinct_keys,
    );
    model.memory_retained_per_record_bytes = 0;
  } else if (!keyed && result.state_heap_growth_bytes > HEAP_NOISE_BYTES) {
    model.memory_retained_per_record_bytes = result.state_heap_growth_bytes / result.records;
    notes.push(
      `the function retained ${Math.round(model.memory_retained_per_record_bytes)} B per record in the sample (a cache or leak)`,
    );
  } else {
    model.memory_retained_per_record_bytes = 0;
  }
  // The sandbox sees the function and JSON in and out, not the engine's batching and
  // transport; ±30 % is the honest width until history narrows it.
  model.cpu_rel_error = result.timed_out ? 0.5 : 0.3;
  model.mem_rel_error = 0.3;
  model.history_runs = 0;
  model.calibration = {
    records: result.records,
    errors: result.errors,
    distinct_keys: result.distinct_keys,
    avg_record_size: result.avg_input_size,
    timed_out: result.timed_out,
  };
  notes.push(
    `calibrated on ${result.records} sample records in a sandbox` +
      (result.errors > 0
        ? ` (${result.errors} threw${result.first_error ? `: ${result.first_error}` : ''})`
        : ''),
  );
  if (result.timed_out)
    notes.push('calibration hit its time budget; CPU measured on part of the sample');
  return model;
}

/** Least squares of cpu_us on avg_size, weighted by records, slope clamped at 0. */
export function fitCpu(buckets: CalibrateResult['buckets']): { a: number; b: number } {
  if (buckets.length === 0) return { a: 0, b: 0 };
  const w = buckets.map((k) => k.records);
  const sw = w.reduce((s, v) => s + v, 0);
  const mx = buckets.reduce((s, k, i) => s + w[i] * k.avg_size, 0) / sw;
  const my = buckets.reduce((s, k, i) => s + w[i] * k.cpu_us, 0) / sw;
  let sxx = 0;
  let sxy = 0;
  buckets.forEach((k, i) => {
    sxx += w[i] * (k.avg_size - mx) ** 2;
    sxy += w[i] * (k.avg_size - mx) * (k.cpu_us - my);
  });
  // A size range under 10 % of the mean cannot tell a slope from noise.
  const spread =
    Math.max(...buckets.map((k) => k.avg_size)) - Math.min(...buckets.map((k) => k.avg_size));
  if (buckets.length < 2 || sxx === 0 || spread < 0.1 * mx) return { a: Math.max(0, my), b: 0 };
  let b = Math.max(0, sxy / sxx);
  let a = my - b * mx;
  if (a < 0) {
    // A negative fixed cost is impossible: keep the mean right with a through-origin slope.
    a = 0;
    b = my / mx;
  }
  return { a, b };
}
