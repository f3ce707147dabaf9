import { statSync } from 'node:fs';
import type { ResolvedSource } from '../execute/sources.js';
import { readSample } from '../sources/read-sample.js';
import type { Source } from '../sources/source.js';

/** Sample records per stream, and the byte size of each stream's real input, for calibration. */
export interface CalibrationSamples {
  samples: Record<string, unknown[]>;
  inputBytes: Record<string, number>;
  /** Streams whose sample could not be read, with why (calibration then skips or falls back). */
  unreadable: Record<string, string>;
}

/**
 * The calibrate stage's input: up to `size` records of each source's input and each input
 * file's size. `opened` holds sources already open by stream (the head of a one-pass
 * input's tee, which replays what the profiler read instead of reading the input again).
 * An unreadable input is reported, not thrown: the run itself says what is wrong with it.
 */
export async function calibrationSamples(
  sources: ReadonlyArray<Pick<ResolvedSource, 'stream' | 'input'> & { live?: boolean }>,
  size: number,
  opened: Record<string, Source> = {},
): Promise<CalibrationSamples> {
  const result: CalibrationSamples = { samples: {}, inputBytes: {}, unreadable: {} };
  for (const source of sources) {
    const open = opened[source.stream];
    // A live stream's sample is what profiling read (it cannot be read as a file); without
    // a tee, standard input can be read only once, by the run.
    if (source.live === true || (open === undefined && source.input === '-')) continue;
    try {
      result.samples[source.stream] = await readSample(open ?? source.input, size);
      // A one-pass input has no size; calibration then sizes chunks from the sample.
      const bytes = open === undefined ? statSync(source.input).size : await open.size?.();
      if (bytes !== undefined) result.inputBytes[source.stream] = bytes;
    } catch (error) {
      result.unreadable[source.stream] = (error as Error).message;
    }
  }
  return result;
}
