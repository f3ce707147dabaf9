import type { Dcp } from '../../profiler/dcp.js';

/** A key cardinality and where it came from. */
export interface KeyCardinality {
  keys: number;
  source: string;
}

/**
 * Distinct keys a keyed function will hold: the DCP's `cardinality[key]` (also
 * matching a nested path ending in the key, `user.id` for `id`); else what the node's
 * past runs held, scaled to this run's records (see {@link fromPastRuns}); else, from the
 * calibration sample, the cardinality K that explains seeing `distinct` keys in
 * `sampled` uniform draws (K·(1 − e^(−n/K)) = d), capped at the records of the run.
 */
export function keyCardinality(
  dcp: Dcp,
  key: string,
  records: number,
  sample?: { distinct: number; sampled: number },
  past?: ReadonlyArray<{ records: number; keys: number | null }>,
): KeyCardinality {
  const exact = dcp.cardinality[key];
  if (exact !== undefined) return { keys: exact, source: `DCP cardinality["${key}"]` };
  const last = key.split('.').pop()!;
  const nested = Object.entries(dcp.cardinality).find(
    ([path]) => path === last || path.endsWith(`.${last}`),
  );
  if (nested) return { keys: nested[1], source: `DCP cardinality["${nested[0]}"]` };
  const fit = fromPastRuns(past ?? [], records);
  if (fit !== undefined) return fit;
  if (sample && sample.sampled > 0 && sample.distinct > 0) {
    const cap = Math.max(sample.distinct, records);
    return {
      keys: Math.round(Math.min(cap, occupancyInverse(sample.distinct, sample.sampled, cap))),
      source: `estimated from ${sample.distinct} distinct keys in ${sample.sampled} calibration records (the DCP has no "${key}")`,
    };
  }
  return {
    keys: Math.max(1, records),
    source: `the DCP has no "${key}": assumed one key per record (${records})`,
  };
}

/** Solves K·(1 − e^(−n/K)) = d for K by bisection; d ≥ n means "at least `cap`". */
export function occupancyInverse(distinct: number, sampled: number, cap: number): number {
  if (distinct >= sampled) return cap;
  let lo = distinct;
  let hi = Math.max(cap, distinct * 2);
  const seen = (k: number): number => k * (1 - Math.exp(-sampled / k));
  if (seen(hi) < distinct) return hi;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (seen(mid) < distinct) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Keys from the node's past runs (records in, keys held): with runs of different lengths
 * (≥ 20 % apart) a power law keys = a·records^b fitted on logs, b in [0, 1] (0: the keys
 * saturate, 1: every record brings new keys in proportion); with one length, each run
 * read as a sample of uniform draws (the occupancy inverse above) and the median taken.
 * Capped at this run's records.
 */
export function fromPastRuns(
  past: ReadonlyArray<{ records: number; keys: number | null }>,
  records: number,
): KeyCardinality | undefined {
  const runs = past.filter(
    (r): r is { records: number; keys: number } => r.records > 0 && (r.keys ?? 0) > 0,
  );
  if (runs.length === 0 || records <= 0) return undefined;
  const xs = runs.map((r) => Math.log(r.records));
  const ys = runs.map((r) => Math.log(r.keys));
  const lengths = runs.map((r) => r.records);
  const spread = (Math.max(...lengths) - Math.min(...lengths)) / Math.max(...lengths);
  let keys: number;
  let how: string;
  if (runs.length >= 2 && spread >= 0.2) {
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < xs.length; i++) {
      sxx += (xs[i] - mx) ** 2;
      sxy += (xs[i] - mx) * (ys[i] - my);
    }
    const b = Math.min(1, Math.max(0, sxy / sxx));
    keys = Math.exp(my + b * (Math.log(records) - mx));
    how = `keys ∝ records^${b.toFixed(2)}`;
  } else {
    const ks = runs
      .map((r) => occupancyInverse(r.keys, r.records, Number.MAX_SAFE_INTEGER))
      .sort((a, b) => a - b);
    const k = ks[ks.length >> 1];
    keys = k * (1 - Math.exp(-records / k));
    how = 'each run read as a sample of the key population';
  }
  return {
    keys: Math.max(1, Math.round(Math.min(records, keys))),
    source: `from ${runs.length} past run(s) of this node (${how}); the DCP has no such field`,
  };
}
