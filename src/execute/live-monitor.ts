import type { Dcp } from '../profiler/dcp.js';
import { detectDrift, type DriftEvent } from '../profiler/drift.js';
import { LiveWindow, type LiveDcp } from '../profiler/live-window.js';
import type { LiveItem } from '../sources/live/live-source.js';

/** What a live run shows about one stream about once a second. */
export interface LiveStreamFigures {
  records: number;
  /** Over the sliding window, from the stream's stored times. */
  records_per_second: number;
  avg_record_size: number;
  data_quality_score: number;
}

/**
 * The real-time DCP of a live run: every record a live source reads is profiled once
 * (per-second profilers merged into a 60 s window and a cumulative profile), and each
 * snapshot is compared with the DCP the RPRs were made from. A drift event is recorded
 * when a kind of drift starts (and again only after it went away), with both values.
 */
export class LiveMonitor {
  readonly #streams = new Map<string, { window: LiveWindow; baseline: Dcp | undefined }>();
  readonly #keyFields: readonly string[];
  readonly #active = new Set<string>();
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
      });
    this.#keyFields = keyFields;
  }

  /** Profiles a batch a live source read. */
  observe(stream: string, items: readonly LiveItem[]): void {
    const entry = this.#streams.get(stream);
    if (entry === undefined) return;
    const now = Date.now();
    for (const item of items) {
      if (item.error !== undefined) entry.window.addMalformed(item.line, item.error, now);
      else entry.window.add(item.record, item.bytes, item.arrival_ms, now);
    }
  }

  /** Snapshots every stream, records new drift; returns the figures and the new events. */
  tick(now = new Date()): { streams: Record<string, LiveStreamFigures>; drift: DriftEvent[] } {
    const streams: Record<string, LiveStreamFigures> = {};
    const fresh: DriftEvent[] = [];
    const seen = new Set<string>();
    for (const [stream, entry] of this.#streams) {
      const { window } = entry.window.snapshot(now.getTime());
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
    return { streams, drift: fresh };
  }

  /** The window and cumulative DCP of each stream now. */
  dcps(): Record<string, LiveDcp> {
    const out: Record<string, LiveDcp> = {};
    for (const [stream, entry] of this.#streams) out[stream] = entry.window.snapshot();
    return out;
  }
}
