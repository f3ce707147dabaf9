import type { FunctionContext } from '../../../src/index.js';
import {
  addValue,
  emptyStats,
  stddevOf,
  windowStart,
  WINDOW_MS,
  type RunningStats,
} from './running-stats.js';
import type { Reading, WindowStat } from './types.js';

/**
 * Keyed by `sensor_id`: temperature statistics over tumbling 1-minute windows
 * (`[floor(ts / 60 s) * 60 s, + 60 s)`). Every reading emits its window's statistics
 * so far; the store keeps the latest per `window_id`, so after the stream it holds
 * the complete statistics of every window. A reading older than the open window
 * (out of order) is ignored: its window has been reported already.
 */
export async function window(
  reading: Reading,
  ctx: FunctionContext,
): Promise<WindowStat | undefined> {
  const start = windowStart(reading.ts);
  let stats = await ctx.state.get<RunningStats>('window');
  if (stats !== undefined && start < stats.start) return undefined;
  if (stats === undefined || start > stats.start) stats = emptyStats(start);
  addValue(stats, reading.temp_c);
  await ctx.state.set('window', stats);
  return {
    window_id: `${reading.sensor_id}:${start}`,
    sensor_id: reading.sensor_id,
    window_start: start,
    window_end: start + WINDOW_MS,
    count: stats.count,
    mean: stats.mean,
    stddev: stddevOf(stats),
    min: stats.min,
    max: stats.max,
  };
}
