import { statSync } from 'node:fs';
import type { ResolvedSource } from '../execute/sources.js';
import { readSample } from '../predictor/calibration/sample-reader.js';

/** Sample records per stream, and the byte size of each stream's real input, for calibration. */
export interface CalibrationSamples {
  samples: Record<string, unknown[]>;
  inputBytes: Record<string, number>;
  /** Streams whose sample could not be read, with why (calibration then skips or falls back). */
  unreadable: Record<string, string>;
}

/**
 * The calibrate stage's input: up to `size` records of each source's input (standard
 * input and live streams are left out: they can be read only once, by the run) and each
 * input file's size.
 * An unreadable input is reported, not thrown: the run itself says what is wrong with it.
 */
export async function calibrationSamples(
  sources: ReadonlyArray<Pick<ResolvedSource, 'stream' | 'input'> & { live?: boolean }>,
  size: number,
): Promise<CalibrationSamples> {
  const result: CalibrationSamples = { samples: {}, inputBytes: {}, unreadable: {} };
  for (const source of sources) {
    // A live stream's sample is what profiling read (it cannot be read as a file).
    if (source.input === '-' || source.live === true) continue;
    try {
      result.samples[source.stream] = await readSample(source.input, size);
      result.inputBytes[source.stream] = statSync(source.input).size;
    } catch (error) {
      result.unreadable[source.stream] = (error as Error).message;
    }
  }
  return result;
}
