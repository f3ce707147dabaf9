import { WarmflowError } from '../errors.js';
import { openSource } from './open.js';
import type { Source, SourceOptions } from './source.js';

/**
 * Reads the first `limit` records of a source (a name for {@link openSource}, or an open
 * {@link Source}, such as the tee of a one-pass input) for calibration, typed exactly as
 * the profiler and the engine see them. Malformed lines are skipped: calibration needs
 * records, the profile reports them.
 */
export async function readSample(
  input: string | Source,
  limit: number,
  options: SourceOptions = {},
): Promise<unknown[]> {
  const records: unknown[] = [];
  try {
    const source = typeof input === 'string' ? await openSource(input, options) : input;
    for await (const batch of source.batches({ sample: limit })) {
      for (const item of batch) if (item.error === undefined) records.push(item.record);
      if (records.length >= limit) break;
    }
  } catch (error) {
    const name = typeof input === 'string' ? input : input.name;
    throw new WarmflowError(
      'E_SOURCE',
      `cannot read a sample from ${name}: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'pass --no-calibrate to predict without running the functions',
      },
    );
  }
  return records.slice(0, limit);
}
