import { openSource } from '../sources/open.js';
import type { Source, SourceItem, SourceOptions } from '../sources/source.js';

/** What the feeder sends: one encoded batch of a source. */
export interface PushBatch {
  source: string;
  seq: number;
  records: number;
  payload: Buffer;
}

/** Figures of a pushed source, for its node in the CompletionStatus. */
export interface FeederStats {
  records_in: number;
  records_out: number;
  malformed: Array<{ line: number; error: string }>;
  busy_ms: number;
}

/**
 * Reads a source that the resource cannot read itself (stdin, gzip, CSV, JSON arrays, or
 * any file replayed at `rate` records per second by the clock, as a live stream would
 * arrive) and cuts it into batches, each encoded once as JSON. A JSON Lines record goes as
 * the text it was read as (parsed here once, to count and check it, and once by the
 * resource), never parsed and serialised again. `send` resolves when the batch may go
 * (credits), so a slow run slows the reading.
 */
export async function feedSource(options: {
  source: string;
  /** The input: a name for `openSource`, or a source already open (the tee of a one-pass input). */
  input: string | Source;
  /** How to open a named input (declared field types, format). */
  open?: SourceOptions;
  rate?: number;
  batchSize?: number;
  send: (batch: PushBatch) => Promise<void>;
  signal?: AbortSignal;
}): Promise<FeederStats & { batches: number }> {
  const batchSize = options.batchSize ?? 1000;
  // At a rate, batches are small enough that records leave close to their due time.
  const cut =
    options.rate === undefined
      ? batchSize
      : Math.max(1, Math.min(batchSize, Math.ceil(options.rate / 100)));
  const stats: FeederStats = { records_in: 0, records_out: 0, malformed: [], busy_ms: 0 };
  const started = performance.now();
  let seq = 0;
  /** Each record's JSON text. */
  let records: string[] = [];
  let positions: number[] = [];
  const flush = async (): Promise<void> => {
    if (records.length === 0) return;
    const json = `{"records":[${records.join(',')}],"positions":${JSON.stringify(positions)}}`;
    const payload = Buffer.from(json, 'utf8');
    const batch = { source: options.source, seq: seq++, records: records.length, payload };
    records = [];
    positions = [];
    await options.send(batch);
  };
  const take = async (item: SourceItem): Promise<void> => {
    stats.records_in++;
    if (item.error !== undefined) {
      stats.malformed.push({ line: item.line, error: item.error });
      return;
    }
    stats.records_out++;
    records.push(item.text ?? JSON.stringify(item.record) ?? 'null');
    positions.push(item.line);
    if (options.rate !== undefined) {
      const due = started + (stats.records_out / options.rate) * 1000;
      const wait = due - performance.now();
      if (records.length >= cut || wait > 5) await flush();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    } else if (records.length >= cut) await flush();
  };
  const source =
    typeof options.input === 'string'
      ? await openSource(options.input, { ...options.open, keepText: true })
      : options.input;
  const read = options.signal !== undefined ? { signal: options.signal } : {};
  for await (const batch of source.batches(read)) {
    const t = performance.now();
    for (const item of batch) await take(item);
    stats.busy_ms += performance.now() - t;
  }
  await flush();
  return { ...stats, batches: seq };
}
