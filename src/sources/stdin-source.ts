import { parseChunks, rawChunks, typedItems } from './file-source.js';
import { sampled } from './sampling.js';
import type { ReadOptions, Source, SourceFormat, SourceItem, SourceOptions } from './source.js';

/**
 * Standard input (`-`): JSON Lines, CSV/TSV, a JSON array, gzip-compressed or not, told
 * apart by its first bytes. It can be read once: every call of
 * {@link StdinSource.batches} continues where the previous reader stopped, so a reader
 * that looks first (the profiler) must read a tee ({@link teeSource}) for the run to see
 * every record. CSV column types come from the first `typeSample` records (default
 * 100,000), the most a single pass can look ahead.
 */
export class StdinSource implements Source {
  readonly name = 'standard input';
  readonly onePass = true;
  readonly #options: SourceOptions;
  readonly #stream: NodeJS.ReadableStream;
  #iterator: AsyncIterator<SourceItem[]> | undefined;
  #format: SourceFormat | undefined;

  constructor(options: SourceOptions = {}) {
    this.#options = options;
    this.#stream = options.stdin ?? process.stdin;
    this.#format = options.format;
  }

  get format(): SourceFormat | undefined {
    return this.#format;
  }

  batches(read: ReadOptions = {}): AsyncIterable<SourceItem[]> {
    return sampled(this.#continue(read), { ...this.#options, ...read });
  }

  async *#continue(read: ReadOptions): AsyncGenerator<SourceItem[]> {
    if (this.#iterator === undefined) {
      const options = { ...this.#options, ...read };
      const parsed = await parseChunks(
        this.name,
        rawChunks(this.name, this.#stream, {
          ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
        }),
        this.#format,
        options.maxRecordBytes,
        options.keepText,
      );
      this.#format = parsed.format;
      this.#iterator = typedItems(parsed, { ...options, signal: undefined })[
        Symbol.asyncIterator
      ]();
    }
    // Not a for-await: leaving this loop must not close the shared iterator.
    for (;;) {
      if (read.signal?.aborted === true) return;
      const next = await this.#iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
}
