import { PathSource } from './file-source.js';
import { WarmflowError } from '../errors.js';
import type { SourceItem, SourceOptions } from './source.js';

/** Rows handed out per batch (a row group is decoded whole, then cut). */
const BATCH_ROWS = 4096;

/** A Parquet value as JSON carries it: INT64 as a number (as a string past 2^53), timestamps as ISO text. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v);
    return out;
  }
  return value;
}

/**
 * A Parquet file, read row group by row group through `hyparquet` (pure JavaScript, with
 * the Snappy, Gzip, Brotli, LZ4 and ZSTD codecs of `hyparquet-compressors`), so a file
 * larger than memory is fine as long as one row group fits. Values become what JSON would
 * carry (INT64 → number, timestamps → ISO strings), so a record looks the same to the
 * profiler, calibration and the functions as it would from JSON Lines.
 */
export class ParquetSource extends PathSource {
  readonly format = 'parquet' as const;

  protected async *items(options: SourceOptions): AsyncGenerator<SourceItem[]> {
    const total = await this.check();
    // Loaded on first use: `import('warmflow')` stays free of readers nobody asked for.
    const [{ asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects }, { compressors }] =
      await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
    let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
    let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
    try {
      file = await asyncBufferFromFile(this.path);
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new WarmflowError(
        'E_SOURCE_FORMAT',
        `${this.name} is not a readable Parquet file: ${(error as Error).message}`,
        { cause: error, hint: 'is the file complete? Parquet files end with the footer "PAR1"' },
      );
    }
    const wanted = options.sample ?? Infinity;
    let row = 0;
    for (const group of metadata.row_groups) {
      if (options.signal?.aborted === true || row >= wanted) return;
      const rows = Number(group.num_rows);
      const rowEnd = Math.min(row + rows, options.reservoir === undefined ? wanted : Infinity);
      let objects: Record<string, unknown>[];
      try {
        objects = await parquetReadObjects({ file, metadata, compressors, rowStart: row, rowEnd });
      } catch (error) {
        throw new WarmflowError(
          'E_SOURCE_READ',
          `reading ${this.name} (rows ${row}-${rowEnd - 1}) failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      for (let i = 0; i < objects.length; i += BATCH_ROWS) {
        const batch: SourceItem[] = [];
        for (let j = i; j < Math.min(objects.length, i + BATCH_ROWS); j++) {
          const record = jsonValue(objects[j]);
          batch.push({ record, line: row + j + 1, bytes: JSON.stringify(record).length + 1 });
        }
        yield batch;
      }
      row += rows;
      options.onProgress?.(Math.round((total * row) / Number(metadata.num_rows)), total);
    }
  }
}
