import type { Dcp } from './dcp.js';
import { Profiler, type ProfilerOptions } from './profiler.js';

/** A live stream's profile while a run reads it: the last minute and everything so far. */
export interface LiveDcp {
  /** The sliding window (last `window_ms`). */
  window: Dcp;
  cumulative: Dcp;
  window_ms: number;
  /**
   * Records whose fields were profiled (a sample when the stream is fast); the volume
   * figures (`records`, `bytes`, `avg_record_size`, `records_per_second`) count every message.
   */
  profiled: { window: number; cumulative: number };
}

/** Every message of a stretch of time: counts, bytes and the range of stored times. */
class Volume {
  count = 0;
  bytes = 0;
  min = Infinity;
  max = -Infinity;

  add(bytes: number, arrivalMs: number): void {
    this.count++;
    this.bytes += bytes;
    if (arrivalMs < this.min) this.min = arrivalMs;
    if (arrivalMs > this.max) this.max = arrivalMs;
  }

  merge(other: Volume): this {
    this.count += other.count;
    this.bytes += other.bytes;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /** The DCP's volume with these figures (rates from the stored times, as `arrival`). */
  apply(dcp: Dcp): Dcp {
    const seconds = (this.max - this.min) / 1000;
    return {
      ...dcp,
      volume: {
        ...dcp.volume,
        records: this.count,
        bytes: this.bytes,
        avg_record_size: this.count === 0 ? 0 : Math.round((this.bytes / this.count) * 100) / 100,
        records_per_second:
          this.count >= 2 && seconds > 0 ? Math.round(((this.count - 1) / seconds) * 1e6) / 1e6 : 0,
        rate_source: this.count >= 2 ? 'arrival' : 'none',
      },
    };
  }
}

interface Bucket {
  at: number;
  profiler: Profiler;
  volume: Volume;
}

/**
 * Profiles what a run really reads, as it reads it: every message is counted (size and
 * stored time) and the fields of those given to {@link LiveWindow.add} are profiled, into
 * one bucket per second; a snapshot merges the seconds of the sliding window (default 60 s)
 * for the window DCP, and folds seconds that leave the window into the cumulative one, so
 * each message is looked at once. Rates come from the stream's stored times (`arrival`).
 */
export class LiveWindow {
  readonly #options: ProfilerOptions;
  readonly #windowMs: number;
  readonly #bucketMs: number;
  /** Seconds still inside the window, oldest first, with their start time. */
  readonly #buckets: Bucket[] = [];
  /** Every second that left the window. */
  readonly #past: Profiler;
  readonly #pastVolume = new Volume();

  constructor(options: ProfilerOptions & { windowMs?: number; bucketMs?: number } = {}) {
    const { windowMs, bucketMs, ...profiler } = options;
    this.#options = profiler;
    this.#windowMs = windowMs ?? 60_000;
    this.#bucketMs = bucketMs ?? 1000;
    this.#past = new Profiler(profiler);
  }

  #current(now: number): Bucket {
    const last = this.#buckets[this.#buckets.length - 1];
    if (last !== undefined && now - last.at < this.#bucketMs) return last;
    const bucket = { at: now, profiler: new Profiler(this.#options), volume: new Volume() };
    this.#buckets.push(bucket);
    return bucket;
  }

  /** Counts one message read now (every message: the volume figures). */
  count(bytes: number, arrivalMs: number, now = Date.now()): void {
    this.#current(now).volume.add(bytes, arrivalMs);
  }

  /** Profiles the fields of one record read now (every message, or a sample of them). */
  add(record: unknown, bytes: number, arrivalMs: number, now = Date.now()): void {
    this.#current(now).profiler.add(record, bytes, arrivalMs);
  }

  addMalformed(line: number, error: string, now = Date.now()): void {
    this.#current(now).profiler.addMalformed(line, error);
  }

  /** Messages counted so far. */
  get records(): number {
    return this.#pastVolume.count + this.#buckets.reduce((n, b) => n + b.volume.count, 0);
  }

  /** The window and cumulative DCPs now. */
  snapshot(now = Date.now()): LiveDcp {
    while (this.#buckets.length > 0 && now - this.#buckets[0].at >= this.#windowMs) {
      const old = this.#buckets.shift()!;
      this.#past.merge(old.profiler);
      this.#pastVolume.merge(old.volume);
    }
    const window = new Profiler(this.#options);
    const windowVolume = new Volume();
    for (const bucket of this.#buckets) {
      window.merge(bucket.profiler);
      windowVolume.merge(bucket.volume);
    }
    const cumulative = new Profiler(this.#options).merge(this.#past).merge(window);
    const cumulativeVolume = new Volume().merge(this.#pastVolume).merge(windowVolume);
    return {
      window: windowVolume.apply(window.snapshot()),
      cumulative: cumulativeVolume.apply(cumulative.snapshot()),
      window_ms: this.#windowMs,
      profiled: {
        window: window.records + window.malformed,
        cumulative: cumulative.records + cumulative.malformed,
      },
    };
  }
}
