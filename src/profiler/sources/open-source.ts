import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WarmflowError } from '../../errors.js';
import { CsvParser } from './csv-parser.js';
import { JsonArrayParser } from './json-array-parser.js';
import { JsonlParser } from './jsonl-parser.js';
import { reservoirSample, takeFirst } from './sampling.js';
import {
  defaultMaxRecordBytes,
  type ChunkParser,
  type SourceFormat,
  type SourceItem,
  type SourceOptions,
} from './source-item.js';

/** The format an extension names (after removing `.gz`), if any. */
export function formatFromPath(path: string): SourceFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.tsv')) return 'tsv';
  if (name.endsWith('.json')) return 'json';
  return undefined;
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

function parserFor(format: SourceFormat, maxRecordBytes: number): ChunkParser {
  switch (format) {
    case 'jsonl':
      return new JsonlParser(maxRecordBytes);
    case 'csv':
      return new CsvParser(',', maxRecordBytes);
    case 'tsv':
      return new CsvParser('\t', maxRecordBytes);
    case 'json':
      return new JsonArrayParser(maxRecordBytes);
  }
}

function unreadable(path: string, cause: unknown): WarmflowError {
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
    hint: 'give a readable JSON Lines, CSV/TSV or JSON array file (optionally .gz), or "-" for standard input',
  });
}

/** Opens the raw byte stream of a path or `-`, decompressing gzip (by extension, or by magic bytes on stdin). */
async function* rawChunks(path: string, options: SourceOptions): AsyncGenerator<Buffer> {
  let total: number | undefined;
  let input: NodeJS.ReadableStream;
  if (path === '-') {
    input = options.stdin ?? process.stdin;
  } else {
    try {
      const info = await stat(path);
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      total = info.size;
    } catch (error) {
      throw unreadable(path, error);
    }
    input = createReadStream(path, { highWaterMark: 256 * 1024 });
  }
  const iterator = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let read = 0;
  async function* counted(first: Buffer): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      const buffer = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      read += buffer.length;
      options.onProgress?.(read, total);
      yield buffer;
    }
  }
  try {
    const head = await iterator.next();
    if (head.done === true) return;
    const first = typeof head.value === 'string' ? Buffer.from(head.value) : head.value;
    read += first.length;
    options.onProgress?.(read, total);
    const gz =
      path === '-' ? first[0] === 0x1f && first[1] === 0x8b : path.toLowerCase().endsWith('.gz');
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
      `reading "${path}" failed: ${(error as Error).message}`,
      {
        cause: error,
        hint: path.toLowerCase().endsWith('.gz')
          ? 'is the file really gzip-compressed, and complete?'
          : undefined,
      },
    );
  } finally {
    await iterator.return?.();
  }
}

/**
 * Reads a source in batches of items (one batch per chunk read), which is how the
 * profiler and the executor consume it: one async step per chunk, not per record.
 * `path` is a file (JSON Lines, CSV/TSV with header, JSON array; `.gz` decompressed)
 * or `-` for standard input. Sampling (`sample`, `reservoir`) applies to records;
 * malformed items are always passed through so they can be reported.
 */
export async function* openSourceBatches(
  path: string,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem[]> {
  const maxRecordBytes = options.maxRecordBytes ?? defaultMaxRecordBytes();
  let parser: ChunkParser | undefined =
    options.format === undefined ? undefined : parserFor(options.format, maxRecordBytes);
  const hinted = formatFromPath(path);
  async function* parsed(): AsyncGenerator<SourceItem[]> {
    let first = true;
    for await (let chunk of rawChunks(path, options)) {
      if (first) {
        first = false;
        // A UTF-8 byte order mark (Excel writes one) is not part of the first record.
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      // A .json file may hold an array or JSON Lines: the array parser tells them apart.
      parser ??= parserFor(hinted ?? sniff(chunk), maxRecordBytes);
      const out: SourceItem[] = [];
      parser.push(chunk, out);
      if (out.length > 0) yield out;
    }
    if (parser !== undefined) {
      const out: SourceItem[] = [];
      parser.end(out);
      if (out.length > 0) yield out;
    }
  }
  if (options.sample !== undefined) yield* takeFirst(parsed(), options.sample);
  else if (options.reservoir !== undefined)
    yield* reservoirSample(parsed(), options.reservoir, options.seed);
  else yield* parsed();
}

/**
 * Reads a source record by record: the contract every source (files, standard input,
 * and later live streams) implements, an async iterable of items with arrival times.
 *
 * ```ts
 * for await (const item of openSource('events.jsonl.gz', { sample: 10_000 })) {
 *   if (item.error === undefined) use(item.record);
 * }
 * ```
 */
export async function* openSource(
  path: string,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem> {
  for await (const batch of openSourceBatches(path, options)) yield* batch;
}
