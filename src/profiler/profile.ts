import { WarmflowError } from '../errors.js';
import { Profiler, type ProfilerOptions } from './profiler.js';
import { openSource } from '../sources/open.js';
import { reservoirSample, takeFirst } from '../sources/sampling.js';
import type { Source, SourceItem, SourceOptions } from '../sources/source.js';
import type { Dcp } from './dcp.js';

/** Options of {@link profile}: the profiler's and the source's. */
export interface ProfileOptions extends ProfilerOptions, SourceOptions {
  /** Called after each batch with the number of records profiled so far (for progress). */
  onRecords?: (records: number) => void;
}

/**
 * What {@link profile} accepts: an input name for `openSource` (a path, `-`, a stream
 * URI), an open {@link Source} (such as the head of a tee), an async iterable of source
 * items, or records in memory.
 */
export type ProfileInput = string | Source | AsyncIterable<SourceItem> | Iterable<unknown>;

function isSource(input: ProfileInput): input is Source {
  return typeof input === 'object' && 'batches' in input && 'onePass' in input;
}

async function* batched(items: AsyncIterable<SourceItem>): AsyncGenerator<SourceItem[]> {
  let batch: SourceItem[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= 1024) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function feed(profiler: Profiler, batch: readonly SourceItem[]): void {
  for (let i = 0; i < batch.length; i++) {
    const item = batch[i];
    if (item.error !== undefined) profiler.addMalformed(item.line, item.error);
    else profiler.add(item.record, item.bytes, item.arrival_ms);
  }
}

/**
 * Profiles a whole source into a {@link Profiler} (which can then be merged with
 * others or snapshotted); an empty source gives an empty profiler, not an error.
 */
export async function collectProfile(
  source: ProfileInput,
  options: ProfileOptions = {},
): Promise<Profiler> {
  const profiler = new Profiler(options);
  if (typeof source === 'string' || isSource(source)) {
    const opened = typeof source === 'string' ? await openSource(source, options) : source;
    for await (const batch of opened.batches(options)) {
      feed(profiler, batch);
      options.onRecords?.(profiler.records);
    }
    return profiler;
  }
  if (Symbol.asyncIterator in source) {
    let batches: AsyncIterable<SourceItem[]> = batched(source);
    if (options.sample !== undefined) batches = takeFirst(batches, options.sample);
    else if (options.reservoir !== undefined)
      batches = reservoirSample(batches, options.reservoir, options.seed);
    for await (const batch of batches) {
      feed(profiler, batch);
      options.onRecords?.(profiler.records);
    }
    return profiler;
  }
  let left = options.sample ?? Infinity;
  if (options.reservoir !== undefined) {
    const items = Array.from(source, (record, i): SourceItem => ({
      record,
      line: i + 1,
      bytes: -1,
    }));
    async function* once(): AsyncGenerator<SourceItem[]> {
      yield items;
    }
    for await (const batch of reservoirSample(once(), options.reservoir, options.seed)) {
      for (const item of batch) profiler.add(item.record);
    }
    return profiler;
  }
  for (const record of source) {
    if (left-- <= 0) break;
    profiler.add(record);
  }
  return profiler;
}

/**
 * Profiles a source and returns its Data Characteristic Profile.
 *
 * ```ts
 * const dcp = await profile('events.jsonl.gz', { reservoir: 100_000, timeField: 'ts' });
 * dcp.cardinality.user_id; // distinct user ids (estimate)
 * ```
 *
 * @throws WarmflowError `E_SOURCE_UNREADABLE` (missing or unreadable file), `E_SOURCE_READ`
 * (failed mid-way, e.g. corrupt gzip), `E_SOURCE_EMPTY` (no records at all) or
 * `E_SOURCE_NO_RECORDS` (every line malformed).
 */
export async function profile(source: ProfileInput, options: ProfileOptions = {}): Promise<Dcp> {
  const profiler = await collectProfile(source, options);
  const name =
    typeof source === 'string'
      ? source === '-'
        ? 'standard input'
        : `"${source}"`
      : isSource(source)
        ? source.name
        : 'the input';
  if (profiler.records === 0 && profiler.malformed === 0) {
    throw new WarmflowError('E_SOURCE_EMPTY', `${name} holds no records`, {
      hint: 'give a non-empty JSON Lines, CSV (with a header row) or JSON array source',
    });
  }
  const dcp = profiler.snapshot();
  if (profiler.records === 0) {
    const first = dcp.malformed?.examples[0];
    throw new WarmflowError(
      'E_SOURCE_NO_RECORDS',
      `${name}: all ${profiler.malformed} lines are malformed` +
        (first ? ` (line ${first.line}: ${first.error})` : ''),
      {
        hint: 'check the format: JSON Lines (one JSON value per line), CSV with a header row, or a JSON array',
      },
    );
  }
  return dcp;
}
