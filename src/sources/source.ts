import { WarmflowError } from '../errors.js';

/**
 * The source contract: what every input of warmflow implements (files, standard input,
 * Parquet, and live streams). A source hands out items in batches; the profiler, the push
 * feeder, calibration and the worker's data plane read nothing else. docs/sources.md
 * explains it with an example adapter.
 */

/**
 * One item a source yields: a parsed record, or the error of a line that could not be
 * parsed (which never ends the stream). `line` is the 1-based line (JSONL, CSV), element
 * number (JSON array), row number (Parquet) or message sequence (live streams); `bytes` the
 * raw size of the record in the source; `arrival_ms` when a live source received it (epoch
 * ms), absent for files.
 */
export interface SourceItem {
  record?: unknown;
  /**
   * The record's JSON text as read (JSON Lines, when the source was opened with `keepText`):
   * whoever sends the record on as JSON sends this instead of serialising the parsed record
   * again.
   */
  text?: string;
  error?: string;
  line: number;
  bytes: number;
  arrival_ms?: number;
}

/** Input formats the file sources read. */
export type SourceFormat = 'jsonl' | 'csv' | 'tsv' | 'json' | 'parquet';

/** The type a flow declares for a field (`types.T.fields`), which readers and the profiler honour. */
export type DeclaredFieldType =
  'string' | 'integer' | 'float' | 'number' | 'boolean' | 'date' | 'object' | 'array';

/** The field types a flow may declare (`types.T.fields`). */
export const DECLARED_FIELD_TYPES: readonly DeclaredFieldType[] = [
  'string',
  'integer',
  'float',
  'number',
  'boolean',
  'date',
  'object',
  'array',
];

/** How to read a source: every option is optional. */
export interface ReadOptions {
  /** Keep only the first N records (`--sample N`). */
  sample?: number;
  /** Keep a uniform random sample of N records over the whole input (`--reservoir N`). */
  reservoir?: number;
  /** Seed of the reservoir's random choices (default: random). */
  seed?: number;
  /** Called as raw bytes are read (compressed bytes for `.gz`), with the total size when known. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Stops reading (the iteration ends quietly). */
  signal?: AbortSignal;
}

/** How to open a source: the format and the field types, then the read options. */
export interface SourceOptions extends ReadOptions {
  /** Format; by default from the extension (`.jsonl`, `.ndjson`, `.csv`, `.tsv`, `.json`, `.parquet`), else sniffed. */
  format?: SourceFormat;
  /** The stream `-` reads (default `process.stdin`); lets tests and embedders supply one. */
  stdin?: NodeJS.ReadableStream;
  /**
   * The longest record (a JSON line, a CSV record, a JSON array element) accepted, in
   * bytes; a longer one ends the read with `E_RECORD_TOO_LONG` instead of growing memory
   * without bound (`/dev/zero` has no newline). Default {@link defaultMaxRecordBytes}.
   */
  maxRecordBytes?: number;
  /** JSON Lines: keep each record's text in its item (`SourceItem.text`). */
  keepText?: boolean;
  /**
   * Declared field types (`types.T.fields`). Text formats (CSV/TSV) type those columns as
   * declared instead of deciding from the column's content.
   */
  fields?: Record<string, DeclaredFieldType>;
  /**
   * CSV/TSV: records read ahead to decide each column's type (default: the whole input when
   * it is a file under 64 MiB, else the first 100,000 records).
   */
  typeSample?: number;
}

/**
 * A source of records. Implementations: {@link FileSource} (JSONL, CSV/TSV, JSON arrays,
 * gzip), {@link StdinSource}, {@link ParquetSource}; live streams add theirs. Adding a kind
 * of source is one file that implements this interface and, for a URI scheme such as
 * `kafka://`, one `registerSourceAdapter` call (see `open.ts`).
 */
export interface Source {
  /** How messages name it: a path, `standard input`, `nats://host/subject`. */
  readonly name: string;
  /**
   * True when the source can be read only once (standard input, live streams): whoever
   * needs to look at it before the run (the profiler) reads a tee of the first items
   * ({@link teeSource}), never a second pass.
   */
  readonly onePass: boolean;
  /** The format items are parsed from, when the source has one. */
  readonly format?: SourceFormat;
  /**
   * Reads items in batches (one async step per batch, not per record). A file source
   * starts from the beginning on every call; a one-pass source continues where the last
   * reader stopped. Breaking out of the loop releases the source's handles.
   */
  batches(options?: ReadOptions): AsyncIterable<SourceItem[]>;
  /** Size of the whole input in bytes, when known without reading it (files). */
  size?(): Promise<number | undefined>;
}

/**
 * Turns raw chunks into items. Each parser is synchronous and batch-oriented, so a
 * source pays one async step per chunk, not per record.
 */
export interface ChunkParser {
  /** Parses a chunk, appending complete items to `out`. */
  push(chunk: Buffer, out: SourceItem[]): void;
  /** Flushes what is left at the end of input. */
  end(out: SourceItem[]): void;
}

/**
 * The record-length limit when none is given: `WARMFLOW_MAX_RECORD_BYTES` if set, else
 * 64 MiB (a record larger than that is not data a per-record function can handle).
 */
export function defaultMaxRecordBytes(): number {
  const fromEnv = Number(process.env.WARMFLOW_MAX_RECORD_BYTES);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : 64 * 1024 * 1024;
}

/** The error that ends a read at a record longer than the limit. */
export function recordTooLong(line: number, limit: number): WarmflowError {
  return new WarmflowError(
    'E_RECORD_TOO_LONG',
    `record ${line} of the input is longer than ${limit} bytes (limit "max_record_bytes"); the read stopped there`,
    {
      hint: 'check that the input is JSON Lines/CSV with newlines between records, or raise the limit with --max-record-bytes (WARMFLOW_MAX_RECORD_BYTES)',
    },
  );
}
