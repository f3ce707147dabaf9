import { WarmflowError } from '../errors.js';
import { FileSource, formatFromPath } from './file-source.js';
import { ParquetSource } from './parquet-source.js';
import type { Source, SourceItem, SourceOptions } from './source.js';
import { StdinSource } from './stdin-source.js';

/** Opens the sources of one URI scheme (`nats`, `redis`, `kafka`, …). */
export type SourceAdapter = (uri: URL, options: SourceOptions) => Source | Promise<Source>;

const adapters = new Map<string, SourceAdapter>();

/**
 * Makes `openSource` open `scheme://…` URIs with `adapter`. A live stream (or any other
 * kind of source) is one file that implements {@link Source} and calls this once;
 * the adapter should import its client library lazily, inside the returned source.
 */
export function registerSourceAdapter(scheme: string, adapter: SourceAdapter): void {
  adapters.set(scheme.toLowerCase().replace(/:$/, ''), adapter);
}

/** The URI schemes `openSource` can open, besides files and `-`. */
export function sourceSchemes(): string[] {
  return [...adapters.keys()];
}

/** `scheme` of `scheme://…`, if `input` is such a URI (a Windows drive letter is not). */
export function uriScheme(input: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]+):\/\//i.exec(input);
  return match?.[1]?.toLowerCase();
}

/**
 * Opens an input by name: `-` is standard input, `scheme://…` the registered adapter's
 * source, anything else a file (Parquet by its extension or its `PAR1` magic, else JSON
 * Lines, CSV/TSV or a JSON array, optionally gzip).
 *
 * ```ts
 * const source = await openSource('movies.csv');
 * for await (const batch of source.batches({ sample: 1000 })) for (const item of batch) …
 * ```
 */
export async function openSource(input: string, options: SourceOptions = {}): Promise<Source> {
  if (input === '-') return new StdinSource(options);
  const scheme = uriScheme(input);
  if (scheme !== undefined && scheme !== 'file') {
    const adapter = adapters.get(scheme);
    if (adapter === undefined)
      throw new WarmflowError('E_SOURCE_UNSUPPORTED', `no source reads "${scheme}://" inputs`, {
        hint: `known: files, - (standard input)${adapters.size > 0 ? `, ${[...adapters.keys()].map((s) => `${s}://`).join(', ')}` : ''}`,
      });
    return adapter(new URL(input), options);
  }
  const path = scheme === 'file' ? new URL(input).pathname : input;
  const format = options.format ?? formatFromPath(path) ?? (await sniffParquet(path));
  if (format === 'parquet') return new ParquetSource(path, options);
  return new FileSource(path, format === undefined ? options : { ...options, format });
}

/** `parquet` if a file without a telling extension starts with Parquet's magic bytes. */
async function sniffParquet(path: string): Promise<'parquet' | undefined> {
  const { open } = await import('node:fs/promises');
  try {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      return bytesRead === 4 && head.toString('latin1') === 'PAR1' ? 'parquet' : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    // The file source reports why it cannot be read.
    return undefined;
  }
}

/**
 * Reads an input by name in batches of items, opening it with {@link openSource}: the
 * shortcut for a single read (`sample`, `reservoir` and the other options apply).
 */
export async function* readSourceBatches(
  input: string,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem[]> {
  const source = await openSource(input, options);
  yield* source.batches(options);
}

/** Reads an input record by record (items with `record` or `error`); see {@link readSourceBatches}. */
export async function* readSource(
  input: string,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem> {
  for await (const batch of readSourceBatches(input, options)) yield* batch;
}
