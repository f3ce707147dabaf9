import { WarmflowError } from '../errors.js';
import { parseLiveItem } from '../sources/live/live-source.js';
import { openLivePeek } from '../sources/live/open-live.js';
import type { Dcp } from './dcp.js';
import { Profiler, type ProfilerOptions } from './profiler.js';

/** Options of {@link profileLive}. */
export interface LiveProfileOptions extends ProfilerOptions {
  /** How long to read (ms). */
  durationMs: number;
  /** `now` (default): only what arrives during the read; `start`: from the stream's first message. */
  from?: 'now' | 'start';
  /** Stop after this many records even if the duration is not over. */
  maxRecords?: number;
  /** Called with every well-formed record read (e.g. to keep a calibration sample). */
  onItem?: (record: unknown) => void;
  /** Called after each batch with the records profiled so far. */
  onRecords?: (records: number) => void;
}

/** A live stream's DCP, and the lag of the group the URL names. */
export interface LiveProfile {
  dcp: Dcp;
  /** Messages the URL's `group` has not acknowledged yet; absent without a group (or an unknown one). */
  lag?: number;
  duration_ms: number;
}

/**
 * Profiles a live stream (`nats://…`, `redis://…`) for a while without consuming it: an
 * ordered ephemeral consumer or plain `XREAD`, nothing acknowledged, no group moved.
 * `records_per_second` comes from the times the stream stored the messages
 * (`rate_source: "arrival"`), so a backlog read `--from start` keeps its real rate.
 *
 * ```ts
 * const { dcp } = await profileLive('nats://127.0.0.1:4222/ORDERS', { durationMs: 30_000 });
 * ```
 */
export async function profileLive(url: string, options: LiveProfileOptions): Promise<LiveProfile> {
  const peek = await openLivePeek(url, options.from ?? 'now');
  const profiler = new Profiler(options);
  const started = performance.now();
  const max = options.maxRecords ?? Number.POSITIVE_INFINITY;
  try {
    for (;;) {
      const left = options.durationMs - (performance.now() - started);
      if (left <= 0 || profiler.records + profiler.malformed >= max) break;
      const items = await peek.next(
        Math.min(1000, max - profiler.records - profiler.malformed),
        Math.min(left, 500),
      );
      for (const item of items) {
        const parsed = parseLiveItem(item);
        if ('error' in parsed) profiler.addMalformed(item.line, parsed.error);
        else {
          profiler.add(parsed.record, item.bytes, item.arrival_ms);
          options.onItem?.(parsed.record);
        }
      }
      options.onRecords?.(profiler.records);
    }
    const lag = await peek.lag();
    const dcp = profiler.snapshot();
    if (profiler.records === 0 && profiler.malformed === 0 && options.maxRecords === undefined)
      throw new WarmflowError(
        'E_SOURCE_EMPTY',
        `${peek.label}: no message arrived in ${Math.round(options.durationMs / 1000)} s`,
        { hint: 'publish to it, read longer (--duration), or read what is stored (--from start)' },
      );
    return { dcp, ...(lag !== undefined ? { lag } : {}), duration_ms: performance.now() - started };
  } finally {
    await peek.close();
  }
}
