import { requiredCores } from '../../predictor/model/sizing.js';

/** Knobs of {@link ResizePolicy}; see docs/policy.md ("Resizing a running live flow"). */
export interface ResizeTuning {
  /** Holt's smoothing of the level (0-1]: how fast the forecast follows a new rate. */
  alpha: number;
  /** Holt's smoothing of the trend (0-1]. */
  beta: number;
  /** Share of a core the flow may keep busy (as the predictor sizes). */
  targetUtilisation: number;
  /** Cores the flow never goes below / above. */
  minCores: number;
  maxCores: number;
  /** A lag is planned to be worked off over this many seconds: the needed rate adds lag / this. */
  drainSeconds: number;
  /**
   * Seconds ahead the forecast looks: about what a resize takes (a warm resource started and
   * the switch made). Each resize measured moves it (moving average).
   */
  leadSeconds: number;
  /** Consecutive observations that need more cores before growing (one noisy second never does). */
  growAfter: number;
  /** Consecutive observations in which a smaller size would do, with headroom, before shrinking. */
  shrinkAfter: number;
  /** A smaller size must carry this multiple of the current level (hysteresis). */
  shrinkHeadroom: number;
  /** Seconds after a resize (or a refused one) before the next decision. */
  cooldownSeconds: number;
}

/** Default tuning: one-second observations; grow after 2 s, shrink after 5 s, 5 s apart. */
export const DEFAULT_RESIZE_TUNING: ResizeTuning = Object.freeze({
  alpha: 0.6,
  beta: 0.3,
  targetUtilisation: 0.7,
  minCores: 1,
  maxCores: 4,
  drainSeconds: 30,
  leadSeconds: 3,
  growAfter: 2,
  shrinkAfter: 5,
  shrinkHeadroom: 1.25,
  cooldownSeconds: 5,
});

/** One observation of a running live flow (about once a second). */
export interface RateObservation {
  /** Epoch milliseconds. */
  at: number;
  /** Messages that arrived on its streams per second since the last observation. */
  records_per_second: number;
  /** Messages its groups have not acknowledged (pending + delivered, unacknowledged). */
  lag: number;
}

/** A size the flow should move to, and why. */
export interface ResizeDecision {
  direction: 'grow' | 'shrink';
  from_cores: number;
  to_cores: number;
  /** The forecast of the rate `lead_seconds` ahead. */
  forecast_records_per_second: number;
  /** What the size was chosen for: forecast (or level, shrinking, with headroom) + lag / drain. */
  needed_records_per_second: number;
  lag: number;
  lead_seconds: number;
  reason: string;
}

/**
 * Holt's linear (double exponential) smoothing of a rate: a level (never below zero) and a
 * trend, updated per observation; the forecast h steps ahead is level + h × trend (never
 * below zero).
 */
export class HoltForecast {
  readonly #alpha: number;
  readonly #beta: number;
  level = 0;
  trend = 0;
  observations = 0;

  constructor(alpha: number, beta: number) {
    if (!(alpha > 0 && alpha <= 1 && beta > 0 && beta <= 1))
      throw new RangeError(`Holt's alpha and beta must be in (0, 1], got ${alpha} and ${beta}`);
    this.#alpha = alpha;
    this.#beta = beta;
  }

  observe(value: number): void {
    if (this.observations++ === 0) {
      this.level = value;
      return;
    }
    const previous = this.level;
    // A rate is never negative: a steep fall must not carry the level below zero.
    this.level = Math.max(0, this.#alpha * value + (1 - this.#alpha) * (this.level + this.trend));
    this.trend = this.#beta * (this.level - previous) + (1 - this.#beta) * this.trend;
  }

  forecast(steps: number): number {
    return Math.max(0, this.level + steps * this.trend);
  }
}

/**
 * Decides when a running live flow changes size, ahead of its load: the stream's arrival
 * rate is forecast (Holt) `leadSeconds` ahead — the time a resize takes — and the cores that
 * rate needs at the predictor's CPU per record (plus working off the lag over
 * `drainSeconds`) are compared with the current size. It grows after `growAfter`
 * consecutive observations that need more; it shrinks only after `shrinkAfter` in which
 * the smaller size would carry `shrinkHeadroom` × the level (hysteresis); and never within
 * `cooldownSeconds` of the last resize. Pure: the caller observes and carries decisions out.
 */
export class ResizePolicy {
  readonly #tuning: ResizeTuning;
  readonly #cpuUsPerRecord: number;
  readonly #forecast: HoltForecast;
  #cores: number;
  #lead: number;
  #grow = 0;
  /** The cores the last observation needed to grow to (when it needed more). */
  #wanted = 0;
  #shrink = 0;
  #quietUntil = -Infinity;
  #pending = false;

  constructor(options: { cpuUsPerRecord: number; cores: number; tuning?: Partial<ResizeTuning> }) {
    this.#tuning = Object.freeze({ ...DEFAULT_RESIZE_TUNING, ...options.tuning });
    if (!(options.cpuUsPerRecord > 0))
      throw new RangeError(`CPU per record must be positive, got ${options.cpuUsPerRecord}`);
    if (!(this.#tuning.minCores >= 1 && this.#tuning.maxCores >= this.#tuning.minCores))
      throw new RangeError(
        `cores must satisfy 1 <= min <= max, got ${this.#tuning.minCores}..${this.#tuning.maxCores}`,
      );
    this.#cpuUsPerRecord = options.cpuUsPerRecord;
    this.#cores = options.cores;
    this.#lead = this.#tuning.leadSeconds;
    this.#forecast = new HoltForecast(this.#tuning.alpha, this.#tuning.beta);
  }

  get cores(): number {
    return this.#cores;
  }

  get tuning(): ResizeTuning {
    return this.#tuning;
  }

  /** The predictor's CPU microseconds per record the sizes are computed from. */
  get cpuUsPerRecord(): number {
    return this.#cpuUsPerRecord;
  }

  /**
   * The cores the flow leans to: the last observation needed more than it has, but not yet
   * `growAfter` in a row (or it is in its cooldown), and no decision is being carried out.
   * Null otherwise. What a resource of that size can be warmed for before the decision.
   */
  get leaning(): number | null {
    return this.#pending || this.#grow === 0 ? null : this.#wanted;
  }

  /** The forecast `leadSeconds` ahead, as of the last observation. */
  get forecast(): number {
    return this.#forecast.forecast(this.#lead);
  }

  /** Cores a rate needs at the predictor's per-record CPU, within min..max. */
  coresFor(recordsPerSecond: number): number {
    const cores = requiredCores(recordsPerSecond, this.#cpuUsPerRecord, {
      targetUtilisation: this.#tuning.targetUtilisation,
      coreStep: 1,
    });
    return Math.min(this.#tuning.maxCores, Math.max(this.#tuning.minCores, cores));
  }

  /** Takes one observation; returns a decision when the flow should change size now. */
  observe(observation: RateObservation): ResizeDecision | null {
    const t = this.#tuning;
    this.#forecast.observe(Math.max(0, observation.records_per_second));
    const forecast = this.#forecast.forecast(this.#lead);
    const backlog = Math.max(0, observation.lag) / t.drainSeconds;
    const grownFor = forecast + backlog;
    const grow = this.coresFor(grownFor);
    // Shrinking looks at the level too: a falling trend alone never shrinks a flow.
    const shrunkFor = Math.max(forecast, this.#forecast.level) * t.shrinkHeadroom + backlog;
    const shrink = this.coresFor(shrunkFor);
    this.#grow = grow > this.#cores ? this.#grow + 1 : 0;
    this.#wanted = grow;
    this.#shrink = shrink < this.#cores ? this.#shrink + 1 : 0;
    if (this.#pending || observation.at < this.#quietUntil) return null;
    const base = {
      from_cores: this.#cores,
      forecast_records_per_second: round(forecast),
      lag: observation.lag,
      lead_seconds: round(this.#lead),
    };
    if (this.#grow >= t.growAfter) {
      this.#pending = true;
      return {
        ...base,
        direction: 'grow',
        to_cores: grow,
        needed_records_per_second: round(grownFor),
        reason: `forecast ${round(forecast)} records/s in ${round(this.#lead)} s (+${round(backlog)}/s to work off a lag of ${observation.lag}) needs ${grow} cores at ${round(this.#cpuUsPerRecord)} µs CPU per record and ${t.targetUtilisation * 100} % utilisation; ${this.#cores} for ${this.#grow} s`,
      };
    }
    if (this.#shrink >= t.shrinkAfter) {
      this.#pending = true;
      return {
        ...base,
        direction: 'shrink',
        to_cores: shrink,
        needed_records_per_second: round(shrunkFor),
        reason: `${shrink} cores carry ${t.shrinkHeadroom}× the rate (level ${round(this.#forecast.level)}, forecast ${round(forecast)} records/s, lag ${observation.lag}) for ${this.#shrink} s`,
      };
    }
    return null;
  }

  /** The decision was carried out at `at` (epoch ms), taking `tookMs` from decision to switch. */
  resized(cores: number, at: number, tookMs: number): void {
    this.#cores = cores;
    this.#lead = 0.5 * this.#lead + 0.5 * Math.max(0.5, tookMs / 1000);
    this.#settle(at);
  }

  /** The decision could not be carried out (no capacity, a resource that did not start). */
  refused(at: number): void {
    this.#settle(at);
  }

  #settle(at: number): void {
    this.#pending = false;
    this.#grow = 0;
    this.#shrink = 0;
    this.#quietUntil = at + this.#tuning.cooldownSeconds * 1000;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
