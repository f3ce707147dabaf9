import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WarmflowError } from '../errors.js';
import { CsvParser, decideColumnTypes, typeColumns, type ColumnTypes } from './csv-parser.js';
import { JsonArrayParser } from './json-array-parser.js';
import { JsonlParser } from './jsonl-parser.js';
import { sampled } from './sampling.js';
import {
  defaultMaxRecordBytes,
  type ChunkParser,
  type ReadOptions,
  type Source,
  type SourceFormat,
  type SourceItem,
  type SourceOptions,
} from './source.js';

/** The format an extension names (after removing `.gz`), if any. */
export function formatFromPath(path: string): SourceFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.tsv')) return 'tsv';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.parquet') || name.endsWith('.pq')) return 'parquet';
  return undefined;
}

/** Magic numbers of binary formats no text reader can read, for a clear refusal. */
const BINARY_MAGIC: ReadonlyArray<[string, number[]]> = [
  ['Parquet', [0x50, 0x41, 0x52, 0x31]],
  ['PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG image', [0xff, 0xd8, 0xff]],
  ['GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['PDF', [0x25, 0x50, 0x44, 0x46]],
  ['ZIP archive (or xlsx)', [0x50, 0x4b, 0x03, 0x04]],
  ['Arrow IPC', [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]],
  ['7-zip archive', [0x37, 0x7a, 0xbc, 0xaf]],
  ['SQLite database', [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65]],
];

/** The kind of binary file `head` starts with (by magic number, or NUL bytes), if it is one. */
export function binaryKind(head: Buffer): string | undefined {
  for (const [kind, magic] of BINARY_MAGIC)
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  const probe = head.subarray(0, 4096);
  if (probe.includes(0)) return 'binary data';
  return undefined;
}

/** The refusal of a binary input that no reader of warmflow reads. */
export function unsupportedBinary(name: string, kind: string): WarmflowError {
  return new WarmflowError(
    'E_SOURCE_FORMAT',
    `${name} is ${kind === 'binary data' ? 'binary data' : `a ${kind} file`}, not records warmflow can read`,
    {
      hint: 'give JSON Lines, CSV/TSV (with a header row), a JSON array or Parquet (optionally .gz for the text formats)',
    },
  );
}

/** Picks a format from the first bytes: `[` a JSON array, `{` JSON Lines, else CSV. */
function sniff(head: Buffer): SourceFormat {
  for (const b of head) {
    if (b === 32 || b === 9 || b === 10 || b === 13) continue;
    if (b === 0x5b) return 'json';
    if (b === 0x7b) return 'jsonl';
    return 'csv';
  }
  return 'jsonl';
}

function parserFor(
  format: Exclude<SourceFormat, 'parquet'>,
  maxRecordBytes: number,
  keepText: boolean,
): ChunkParser {
  switch (format) {
    case 'jsonl':
      return new JsonlParser(maxRecordBytes, keepText);
    case 'csv':
      return new CsvParser(',', maxRecordBytes);
    case 'tsv':
      return new CsvParser('\t', maxRecordBytes);
    case 'json':
      return new JsonArrayParser(maxRecordBytes);
  }
}

/** The error of an input that cannot be opened, saying why in words. */
export function unreadable(path: string, cause: unknown): WarmflowError {
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : (cause as Error).message;
  return new WarmflowError('E_SOURCE_UNREADABLE', `cannot read source "${path}": ${why}`, {
    cause,
    hint: 'give a readable JSON Lines, CSV/TSV, JSON array or Parquet file (optionally .gz), or "-" for standard input',
  });
}

/** Reads the raw bytes of a stream, decompressing gzip (by extension or magic bytes). */
export async function* rawChunks(
  name: string,
  input: NodeJS.ReadableStream,
  options: { gzip?: boolean; total?: number; onProgress?: ReadOptions['onProgress'] },
): AsyncGenerator<Buffer> {
  const iterator = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let read = 0;
  async function* counted(first: Buffer): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      const buffer = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      read += buffer.length;
      options.onProgress?.(read, options.total);
      yield buffer;
    }
  }
  try {
    const head = await iterator.next();
    if (head.done === true) return;
    const first = typeof head.value === 'string' ? Buffer.from(head.value) : head.value;
    read += first.length;
    options.onProgress?.(read, options.total);
    const gz = options.gzip ?? (first[0] === 0x1f && first[1] === 0x8b);
    if (!gz) {
      yield* counted(first);
      return;
    }
    const gunzip = createGunzip();
    // pipeline destroys gunzip with the error if either side fails, which ends the loop below.
    pipeline(Readable.from(counted(first)), gunzip).catch(() => undefined);
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    if (error instanceof WarmflowError) throw error;
    throw new WarmflowError(
      'E_SOURCE_READ',
      `reading ${name} failed: ${(error as Error).message}`,
      {
        cause: error,
        hint:
          options.gzip === true ? 'is the file really gzip-compressed, and complete?' : undefined,
      },
    );
  } finally {
    await iterator.return?.();
  }
}

/**
 * Parses raw chunks into batches of items. The format is `format`, else sniffed from the
 * first bytes (`[` a JSON array, `{` JSON Lines, else CSV); a binary input is refused with
 * `E_SOURCE_FORMAT`. Resolves once the first chunk is in, so the caller knows the format
 * (CSV/TSV cells come out as strings: {@link typedCsv} gives each column one type).
 */
export async function parseChunks(
  name: string,
  chunks: AsyncIterable<Buffer>,
  format: SourceFormat | undefined,
  maxRecordBytes = defaultMaxRecordBytes(),
  keepText = false,
): Promise<{ format: SourceFormat; batches: AsyncGenerator<SourceItem[]> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  let head: IteratorResult<Buffer>;
  try {
    head = await iterator.next();
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  let first = head.done === true ? Buffer.alloc(0) : head.value;
  // A UTF-8 byte order mark (Excel writes one) is not part of the first record.
  if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) first = first.subarray(3);
  const binary = first.length === 0 ? undefined : binaryKind(first);
  if (binary !== undefined || format === 'parquet') {
    await iterator.return?.();
    throw unsupportedBinary(name, binary ?? 'Parquet');
  }
  const decided = format ?? sniff(first);
  const parser = parserFor(decided as Exclude<SourceFormat, 'parquet'>, maxRecordBytes, keepText);
  async function* batches(): AsyncGenerator<SourceItem[]> {
    try {
      if (head.done === true) return;
      for (let chunk: Buffer | undefined = first; ;) {
        const out: SourceItem[] = [];
        parser.push(chunk, out);
        if (out.length > 0) yield out;
        const next = await iterator.next();
        if (next.done === true) break;
        chunk = next.value;
      }
      const out: SourceItem[] = [];
      parser.end(out);
      if (out.length > 0) yield out;
    } finally {
      await iterator.return?.();
    }
  }
  return { format: decided, batches: batches() };
}

/**
 * The items of parsed chunks with CSV/TSV typed by column: `decideFrom` (a second read of
 * the same input) gives the types from the whole column, else the first records decide.
 */
export async function* typedItems(
  parsed: { format: SourceFormat; batches: AsyncGenerator<SourceItem[]> },
  options: SourceOptions,
  decideFrom?: () => Promise<AsyncIterable<SourceItem[]>>,
): AsyncGenerator<SourceItem[]> {
  if (parsed.format !== 'csv' && parsed.format !== 'tsv') {
    yield* stopOn(parsed.batches, options.signal);
    return;
  }
  const from = decideFrom === undefined ? undefined : await decideFrom();
  yield* stopOn(
    typedCsv(parsed.batches, {
      ...(options.fields !== undefined ? { fields: options.fields } : {}),
      ...(from !== undefined ? { decideFrom: () => from } : {}),
      ...(options.typeSample !== undefined ? { sample: options.typeSample } : {}),
    }),
    options.signal,
  );
}

/** Files of up to this size get their CSV column types from the whole column (a first pass). */
const WHOLE_COLUMN_BYTES = 64 * 1024 * 1024;
/** Records read ahead to type CSV columns when the whole column is not read first. */
export const TYPE_SAMPLE = 100_000;

/**
 * Types CSV/TSV records column by column: each column gets one type decided from
 * `decideFrom` (the whole column, or a stated sample), and values are converted to it.
 * When the decision comes from a prefix of the same stream (`decideFrom` undefined), the
 * first `sample` records are held back until the types are known.
 */
export async function* typedCsv(
  batches: AsyncIterable<SourceItem[]>,
  options: {
    fields?: SourceOptions['fields'];
    decideFrom?: () => AsyncIterable<SourceItem[]>;
    sample?: number;
  },
): AsyncGenerator<SourceItem[]> {
  let types: ColumnTypes | undefined;
  if (options.decideFrom !== undefined) {
    types = await decideColumnTypes(options.decideFrom(), options.fields, Infinity);
  }
  if (types !== undefined) {
    for await (const batch of batches) yield typeColumns(batch, types);
    return;
  }
  const limit = options.sample ?? TYPE_SAMPLE;
  const held: SourceItem[][] = [];
  let count = 0;
  const iterator = batches[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (count >= limit) break;
      const next = await iterator.next();
      if (next.done === true) break;
      held.push(next.value);
      count += next.value.length;
    }
    async function* heldBatches(): AsyncGenerator<SourceItem[]> {
      yield* held;
    }
    const decided = await decideColumnTypes(heldBatches(), options.fields, Infinity);
    for (const batch of held) yield typeColumns(batch, decided);
    held.length = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      yield typeColumns(next.value, decided);
    }
  } finally {
    await iterator.return?.();
  }
}

/** What every source read from a local file shares: its name, its size, sampling. */
export abstract class PathSource implements Source {
  readonly name: string;
  readonly onePass = false;
  abstract readonly format: SourceFormat | undefined;
  protected readonly path: string;
  protected readonly options: SourceOptions;

  constructor(path: string, options: SourceOptions = {}) {
    this.path = path;
    this.name = `"${path}"`;
    this.options = options;
  }

  async size(): Promise<number | undefined> {
    try {
      return (await stat(this.path)).size;
    } catch {
      return undefined;
    }
  }

  batches(read: ReadOptions = {}): AsyncIterable<SourceItem[]> {
    const options = { ...this.options, ...read };
    return sampled(this.items(options), options);
  }

  /** The file's items from its start (sampling is applied above). */
  protected abstract items(options: SourceOptions): AsyncGenerator<SourceItem[]>;

  /** Stats the file: its size, or why it cannot be read. */
  protected async check(): Promise<number> {
    try {
      const info = await stat(this.path);
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      return info.size;
    } catch (error) {
      throw unreadable(this.path, error);
    }
  }
}

/**
 * A file: JSON Lines, CSV/TSV with a header row, a JSON array, each optionally gzip (Parquet
 * is {@link ParquetSource}, which `openSource` picks). Every call of `batches` reads the
 * file from its start.
 */
export class FileSource extends PathSource {
  readonly format: SourceFormat | undefined;

  constructor(path: string, options: SourceOptions = {}) {
    super(path, options);
    this.format = options.format ?? formatFromPath(path);
  }

  protected async *items(options: SourceOptions): AsyncGenerator<SourceItem[]> {
    const total = await this.check();
    const open = (onProgress?: ReadOptions['onProgress']) =>
      parseChunks(
        this.name,
        rawChunks(this.name, createReadStream(this.path, { highWaterMark: 256 * 1024 }), {
          gzip: this.path.toLowerCase().endsWith('.gz'),
          total,
          ...(onProgress !== undefined ? { onProgress } : {}),
        }),
        this.format,
        options.maxRecordBytes,
        options.keepText,
      );
    const parsed = await open(options.onProgress);
    // A file can be read twice: small ones get CSV column types from the whole column.
    const whole = options.typeSample === undefined && total <= WHOLE_COLUMN_BYTES;
    yield* typedItems(parsed, options, whole ? async () => (await open()).batches : undefined);
  }
}

/** Ends a stream of batches quietly once `signal` aborts. */
export async function* stopOn<T>(
  batches: AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  for await (const batch of batches) {
    if (signal?.aborted === true) return;
    yield batch;
  }
}
