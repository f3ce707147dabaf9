import type { FunctionContext } from '../../../src/index.js';
import { addValue, emptyStats, stddevOf, windowStart, type RunningStats } from './running-stats.js';
import type { Alert, Reading } from './types.js';

/** |z| at or above this raises an alert. */
export const Z_THRESHOLD = 4;
/** A floor on the baseline's stddev, so a very quiet minute does not make every wobble an anomaly. */
export const MIN_STDDEV = 0.2;
/** A baseline minute needs at least this many readings. */
export const MIN_BASELINE = 5;

/**
 * Keyed by `sensor_id`: compares each reading with the sensor's previous tumbling
 * minute (its mean and population stddev, kept in state). When a reading opens a
 * new minute, the minute just closed becomes the baseline — only if it is the
 * immediately preceding minute, else there is no baseline. An alert is emitted when
 * the baseline has at least 5 readings and |temp - mean| / max(stddev, 0.2) >= 4.
 * Every reading, anomalous or not, then joins the current minute.
 */
export async function detect(reading: Reading, ctx: FunctionContext): Promise<Alert | undefined> {
  const start = windowStart(reading.ts);
  let current = await ctx.state.get<RunningStats>('current');
  let baseline = await ctx.state.get<RunningStats>('baseline');
  if (current !== undefined && start < current.start) return undefined; // late: its minute is gone
  if (current === undefined || start > current.start) {
    baseline = current !== undefined && current.start === start - 60_000 ? current : undefined;
    current = emptyStats(start);
    if (baseline === undefined) await ctx.state.delete('baseline');
    else await ctx.state.set('baseline', baseline);
  }
  let alert: Alert | undefined;
  if (baseline !== undefined && baseline.count >= MIN_BASELINE) {
    const stddev = stddevOf(baseline);
    const z = (reading.temp_c - baseline.mean) / Math.max(stddev, MIN_STDDEV);
    if (Math.abs(z) >= Z_THRESHOLD) {
      alert = {
        alert_id: `${reading.sensor_id}:${reading.ts}`,
        sensor_id: reading.sensor_id,
        ts: reading.ts,
        temp_c: reading.temp_c,
        baseline_mean: baseline.mean,
        baseline_stddev: stddev,
        z: Math.round(z * 100) / 100,
      };
    }
  }
  addValue(current, reading.temp_c);
  await ctx.state.set('current', current);
  return alert;
}
