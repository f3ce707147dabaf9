import { WarmflowError } from '../../errors.js';
import { openSourceBatches } from '../../profiler/sources/open-source.js';

/**
 * Reads the first `limit` records of a source for calibration, through the
 * profiler's sources (JSON Lines, CSV/TSV typed by content, JSON arrays, gzip), so
 * functions are calibrated on records typed exactly as the profiler and the engine see
 * them. Malformed lines are skipped: calibration needs records, the profile reports them.
 */
export async function readSample(file: string, limit: number): Promise<unknown[]> {
  const records: unknown[] = [];
  try {
    for await (const batch of openSourceBatches(file, { sample: limit })) {
      for (const item of batch) if (item.error === undefined) records.push(item.record);
      if (records.length >= limit) break;
    }
  } catch (error) {
    throw new WarmflowError(
      'E_SOURCE',
      `cannot read a sample from ${file}: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'pass --no-calibrate to predict without running the functions',
      },
    );
  }
  return records.slice(0, limit);
}
