import type { Dcp } from './dcp.js';
import { Profiler, type ProfilerOptions } from './profiler.js';

/** A live stream's profile while a run reads it: the last minute and everything so far. */
export interface LiveDcp {
  /** The sliding window (last `window_ms`). */
  window: Dcp;
  cumulative: Dcp;
  window_ms: number;
}

/**
 * Profiles what a run really reads, as it reads it: records go into a profiler per
 * second; a snapshot merges the seconds of the sliding window (default 60 s) for the
 * window DCP, and folds seconds that leave the window into the cumulative profiler, so
 * each record is profiled once. Rates come from the stream's stored times (`arrival`).
 */
export class LiveWindow {
  readonly #options: ProfilerOptions;
  readonly #windowMs: number;
  readonly #bucketMs: number;
  /** Seconds still inside the window, oldest first, with their start time. */
  readonly #buckets: Array<{ at: number; profiler: Profiler }> = [];
  /** Every second that left the window. */
  readonly #past: Profiler;

  constructor(options: ProfilerOptions & { windowMs?: number; bucketMs?: number } = {}) {
    const { windowMs, bucketMs, ...profiler } = options;
    this.#options = profiler;
    this.#windowMs = windowMs ?? 60_000;
    this.#bucketMs = bucketMs ?? 1000;
    this.#past = new Profiler(profiler);
  }

  #current(now: number): Profiler {
    const last = this.#buckets[this.#buckets.length - 1];
    if (last !== undefined && now - last.at < this.#bucketMs) return last.profiler;
    const bucket = { at: now, profiler: new Profiler(this.#options) };
    this.#buckets.push(bucket);
    return bucket.profiler;
  }

  /** Profiles one record read now. */
  add(record: unknown, bytes: number, arrivalMs: number, now = Date.now()): void {
    this.#current(now).add(record, bytes, arrivalMs);
  }

  addMalformed(line: number, error: string, now = Date.now()): void {
    this.#current(now).addMalformed(line, error);
  }

  /** Records profiled so far. */
  get records(): number {
    return this.#past.records + this.#buckets.reduce((n, b) => n + b.profiler.records, 0);
  }

  /** The window and cumulative DCPs now. */
  snapshot(now = Date.now()): LiveDcp {
    while (this.#buckets.length > 0 && now - this.#buckets[0].at >= this.#windowMs)
      this.#past.merge(this.#buckets.shift()!.profiler);
    const window = new Profiler(this.#options);
    for (const bucket of this.#buckets) window.merge(bucket.profiler);
    const cumulative = new Profiler(this.#options).merge(this.#past).merge(window);
    return {
      window: window.snapshot(),
      cumulative: cumulative.snapshot(),
      window_ms: this.#windowMs,
    };
  }
}
