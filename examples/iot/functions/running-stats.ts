/**
 * Welford's running mean and variance: one pass, numerically stable, and small
 * enough to live in a key's state between records.
 */
export interface RunningStats {
  /** Start of the window these stats cover (epoch ms). */
  start: number;
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
  min: number;
  max: number;
}

/** Length of a tumbling window. */
export const WINDOW_MS = 60_000;

/** Start of the tumbling minute `ts` falls in. */
export function windowStart(ts: number): number {
  return Math.floor(ts / WINDOW_MS) * WINDOW_MS;
}

export function emptyStats(start: number): RunningStats {
  return { start, count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity };
}

/** Adds one value (mutates and returns `stats`). */
export function addValue(stats: RunningStats, value: number): RunningStats {
  stats.count += 1;
  const delta = value - stats.mean;
  stats.mean += delta / stats.count;
  stats.m2 += delta * (value - stats.mean);
  stats.min = Math.min(stats.min, value);
  stats.max = Math.max(stats.max, value);
  return stats;
}

/** Population standard deviation. */
export function stddevOf(stats: RunningStats): number {
  return stats.count === 0 ? 0 : Math.sqrt(stats.m2 / stats.count);
}
