import { sampled } from './sampling.js';
import type { ReadOptions, Source, SourceFormat, SourceItem } from './source.js';

/**
 * A tee of a one-pass source. `head` may be read any number of times (the profiler, then
 * calibration): each read starts from the first item, and what the source gave so far is
 * kept; `whole` (read once, by the run) yields the kept items followed by the rest of the
 * source, so the run sees every record exactly once and nothing is read twice. Only what
 * `head` reads is held in memory (the profiler's sample), and it is let go as the run
 * passes it. A source that can be read again is returned as it is for both.
 */
export function teeSource(source: Source): { head: Source; whole: Source } {
  if (!source.onePass) return { head: source, whole: source };
  const kept: SourceItem[][] = [];
  let upstream: AsyncIterator<SourceItem[]> | undefined;
  let wholeStarted = false;
  let ended = false;
  const pull = async (options: ReadOptions): Promise<SourceItem[] | undefined> => {
    if (ended) return undefined;
    if (upstream === undefined) {
      const read = options.onProgress !== undefined ? { onProgress: options.onProgress } : {};
      upstream = source.batches(read)[Symbol.asyncIterator]();
    }
    const next = await upstream.next();
    if (next.done === true) {
      ended = true;
      return undefined;
    }
    return next.value;
  };
  async function* headItems(options: ReadOptions): AsyncGenerator<SourceItem[]> {
    if (wholeStarted) throw new Error(`${source.name} is already being read by the run`);
    for (let i = 0; ; i++) {
      if (options.signal?.aborted === true) return;
      if (i < kept.length) {
        yield kept[i];
        continue;
      }
      const batch = await pull(options);
      if (batch === undefined) return;
      kept.push(batch);
      yield batch;
    }
  }
  async function* wholeItems(options: ReadOptions): AsyncGenerator<SourceItem[]> {
    if (wholeStarted) throw new Error(`${source.name} can be read by one run only`);
    wholeStarted = true;
    while (kept.length > 0) {
      if (options.signal?.aborted === true) return;
      yield kept.shift()!;
    }
    for (;;) {
      if (options.signal?.aborted === true) return;
      const batch = await pull(options);
      if (batch === undefined) return;
      yield batch;
    }
  }
  const view = (read: (options: ReadOptions) => AsyncIterable<SourceItem[]>): Source => ({
    name: source.name,
    onePass: true,
    get format(): SourceFormat | undefined {
      return source.format;
    },
    batches: read,
  });
  return {
    // Sampling happens above the tee: the tail of a batch past the sample stays kept for the run.
    head: view((options = {}) => sampled(headItems(options), options)),
    whole: view((options = {}) => sampled(wholeItems(options), options)),
  };
}
