import type { Dcp } from '../../profiler/dcp.js';

/** A key cardinality and where it came from. */
export interface KeyCardinality {
  keys: number;
  source: string;
}

/**
 * Distinct keys a keyed function will hold: the DCP's `cardinality[key]` (also
 * matching a nested path ending in the key, `user.id` for `id`); else, from the
 * calibration sample, the cardinality K that explains seeing `distinct` keys in
 * `sampled` uniform draws (K·(1 − e^(−n/K)) = d), capped at the records of the run.
 */
export function keyCardinality(
  dcp: Dcp,
  key: string,
  records: number,
  sample?: { distinct: number; sampled: number },
): KeyCardinality {
  const exact = dcp.cardinality[key];
  if (exact !== undefined) return { keys: exact, source: `DCP cardinality["${key}"]` };
  const last = key.split('.').pop()!;
  const nested = Object.entries(dcp.cardinality).find(
    ([path]) => path === last || path.endsWith(`.${last}`),
  );
  if (nested) return { keys: nested[1], source: `DCP cardinality["${nested[0]}"]` };
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
