import { WarmflowError } from '../../errors.js';

/**
 * One item a source yields: a parsed record, or the error of a line that could not be
 * parsed (which never ends the stream). `line` is the 1-based line (JSONL, CSV) or
 * element number (JSON array) in the input; `bytes` the raw size of the record in the
 * source; `arrival_ms` when a live source received it (epoch ms), absent for files.
 */
export interface SourceItem {
  record?: unknown;
  error?: string;
  line: number;
  bytes: number;
  arrival_ms?: number;
}

/** Input formats the file sources read. */
export type SourceFormat = 'jsonl' | 'csv' | 'tsv' | 'json';

/** Options of `openSource` / `openSourceBatches`. */
export interface SourceOptions {
  /** Format; by default from the extension (`.jsonl`, `.ndjson`, `.csv`, `.tsv`, `.json`), else sniffed. */
  format?: SourceFormat;
  /** Keep only the first N records (`--sample N`). */
  sample?: number;
  /** Keep a uniform random sample of N records over the whole input (`--reservoir N`). */
  reservoir?: number;
  /** Seed of the reservoir's random choices (default: random). */
  seed?: number;
  /** Called as raw bytes are read (compressed bytes for `.gz`), with the file size when known. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /**
   * The longest record (a JSON line, a CSV record, a JSON array element) accepted, in
   * bytes; a longer one ends the read with `E_RECORD_TOO_LONG` instead of growing memory
   * without bound (`/dev/zero` has no newline). Default {@link defaultMaxRecordBytes}.
   */
  maxRecordBytes?: number;
  /** The stream `-` reads (default `process.stdin`); lets tests and embedders supply one. */
  stdin?: NodeJS.ReadableStream;
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
