import type { Dcp } from '../profiler/dcp.js';
import { detectDrift, type DriftEvent } from '../profiler/drift.js';
import { LiveWindow, type LiveDcp } from '../profiler/live-window.js';
import { parseLiveItem, type LiveItem } from '../sources/live/live-source.js';

/** What a live run shows about one stream about once a second. */
export interface LiveStreamFigures {
  records: number;
  /** Over the sliding window, from the stream's stored times. */
  records_per_second: number;
  avg_record_size: number;
  data_quality_score: number;
}

/**
 * Records per second per stream whose fields are profiled: every message is counted, but
 * a faster stream's fields are profiled on a sample of about this many a second, which
 * keeps the real-time DCP's cost a small, bounded share of reading (the messages
 * themselves are parsed once, on the resource).
 */
export const PROFILED_PER_SECOND = 2000;

interface StreamState {
  window: LiveWindow;
  baseline: Dcp | undefined;
  /** Profile one message in `stride`. */
  stride: number;
  seen: number;
  /** Messages since the last tick (sets the stride). */
  sinceTick: number;
  /** Messages profiled since the stride was last set. */
  profiled: number;
}

/**
 * The real-time DCP of a live run: every message a live source reads is counted (volume,
 * rate) and the fields of a sample of at most {@link PROFILED_PER_SECOND} a second are
 * profiled, into per-second buckets merged into a 60 s window and a cumulative profile.
 * Each snapshot is compared with the DCP the RPRs were made from; a drift event is
 * recorded when a kind of drift starts (and again only after it went away), with both values.
 */
export class LiveMonitor {
  readonly #streams = new Map<string, StreamState>();
  readonly #keyFields: readonly string[];
  readonly #active = new Set<string>();
  #lastTick = performance.now();
  readonly drift: DriftEvent[] = [];

  constructor(
    streams: ReadonlyArray<{ stream: string; baseline?: Dcp }>,
    keyFields: readonly string[],
    options: { windowMs?: number } = {},
  ) {
    for (const s of streams)
      this.#streams.set(s.stream, {
        window: new LiveWindow({ windowMs: options.windowMs ?? 60_000 }),
        baseline: s.baseline,
        stride: 1,
        seen: 0,
        sinceTick: 0,
        profiled: 0,
      });
    this.#keyFields = keyFields;
  }

  /** Looks at a batch a live source read. */
  observe(stream: string, items: readonly LiveItem[]): void {
    const entry = this.#streams.get(stream);
    if (entry === undefined) return;
    const now = Date.now();
    entry.sinceTick += items.length;
    for (const item of items) {
      entry.window.count(item.bytes, item.arrival_ms, now);
      if (entry.seen++ % entry.stride !== 0) continue;
      // Faster than the last second said (or the first second): profile fewer at once.
      if (++entry.profiled > PROFILED_PER_SECOND) {
        entry.stride *= 2;
        entry.profiled = 0;
      }
      const parsed = parseLiveItem(item);
      if ('error' in parsed) entry.window.addMalformed(item.line, parsed.error, now);
      else entry.window.add(parsed.record, item.bytes, item.arrival_ms, now);
    }
  }

  /** Snapshots every stream, records new drift; returns the figures and the new events. */
  tick(now = new Date()): {
    streams: Record<string, LiveStreamFigures>;
    drift: DriftEvent[];
    dcps: Record<string, LiveDcp>;
  } {
    const streams: Record<string, LiveStreamFigures> = {};
    const dcps: Record<string, LiveDcp> = {};
    const fresh: DriftEvent[] = [];
    const seen = new Set<string>();
    const seconds = Math.max((performance.now() - this.#lastTick) / 1000, 1e-3);
    this.#lastTick = performance.now();
    for (const [stream, entry] of this.#streams) {
      entry.stride = Math.max(1, Math.ceil(entry.sinceTick / seconds / PROFILED_PER_SECOND));
      entry.sinceTick = 0;
      entry.profiled = 0;
      const dcp = entry.window.snapshot(now.getTime());
      dcps[stream] = dcp;
      const { window } = dcp;
      streams[stream] = {
        records: entry.window.records,
        records_per_second: window.volume.records_per_second,
        avg_record_size: window.volume.avg_record_size,
        data_quality_score: window.data_quality_score,
      };
      if (entry.baseline === undefined) continue;
      for (const event of detectDrift(stream, entry.baseline, window, this.#keyFields, {}, now)) {
        const id = `${stream}\u0000${event.kind}\u0000${event.field ?? ''}`;
        seen.add(id);
        if (this.#active.has(id)) continue;
        this.#active.add(id);
        this.drift.push(event);
        fresh.push(event);
      }
    }
    for (const id of this.#active) if (!seen.has(id)) this.#active.delete(id);
    return { streams, drift: fresh, dcps };
  }

  /** The window and cumulative DCP of each stream now. */
  dcps(): Record<string, LiveDcp> {
    const out: Record<string, LiveDcp> = {};
    for (const [stream, entry] of this.#streams) out[stream] = entry.window.snapshot();
    return out;
  }
}
