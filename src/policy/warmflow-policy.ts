import {
  coldStartValue,
  DEFAULT_COST_MODEL,
  idlePricePerMbMinute,
  type CostModel,
} from './cost-model.js';
import { bestWindow, IdleHistogram, withTails, type WindowScore } from './idle-histogram.js';
import {
  STAY_COLD,
  type KeepAliveDecision,
  type KeepAlivePolicy,
  type PolicyLedger,
  type PolicyUnit,
  type UnitInfo,
} from './keep-alive-policy.js';

/** Options of {@link warmflowPolicy}. */
export interface WarmflowPolicyOptions {
  spec?: string;
  /** Budget mode: wasted memory within `budget` × that of fixed:10. Absent: cost mode. */
  budget?: number;
  costModel?: CostModel | undefined;
  /** Tuning knobs (defaults chosen on a training slice, see docs/policy.md). */
  tuning?: Partial<WarmflowTuning>;
}

/** The knobs of the warmflow policy. */
export interface WarmflowTuning {
  /** Budget mode: share of the budget the controller aims to have spent or committed. */
  target: number;
  /** Budget mode: per-minute multiplicative step of the price of a loaded minute. */
  step: number;
  /** Weight of an old idle time relative to the newest after each new one (recency). */
  decay: number;
  /** Relative growth of a unit's histogram after which its window is recomputed. */
  refresh: number;
  /** Weight of the unseen idle times beyond those seen (see `withTails`). */
  tails: number;
  /**
   * Budget mode: minutes of fixed:10's average waste rate so far that may be committed
   * ahead of it (its waste only grows; without this nothing could be kept warm at first).
   */
  lookahead: number;
}

const DEFAULT_TUNING: WarmflowTuning = {
  target: 0.85,
  step: 0.03,
  decay: 0.995,
  refresh: 0.1,
  tails: 1,
  lookahead: 30,
};

/**
 * The warmflow policy: per unit, the exact distribution of its idle times; after each
 * invocation it picks the window (pre, ka) that maximises expected warm hits minus the
 * price of the loaded idle minutes it costs, weighted by the unit's memory, so cheap,
 * regular units are kept warm before expensive, erratic ones.
 *
 * - Cost mode (`warmflow`): the price of a loaded MB-minute in cold starts is the cost
 *   model's idle price / cold-start value.
 * - Budget mode (`warmflow:B`): the price floats — raised while the wasted memory spent
 *   plus already committed runs ahead of B × what fixed:10 has wasted so far, lowered
 *   while it lags — and a window that would take the committed total past the budget is
 *   shortened or dropped, so the budget holds at every minute, not just at the end.
 *
 * A unit never seen idle takes the window that pays over the pooled idle times of units
 * with its trigger.
 */
export function warmflowPolicy(options: WarmflowPolicyOptions = {}): KeepAlivePolicy {
  const model = options.costModel ?? DEFAULT_COST_MODEL;
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const budget = options.budget;
  const spec = options.spec ?? (budget === undefined ? 'warmflow' : `warmflow:${budget}`);
  const shared = new SharedState(
    idlePricePerMbMinute(model) / coldStartValue(model),
    budget,
    tuning,
  );
  return {
    spec,
    needsReference: budget !== undefined,
    unit: (info) => new WarmflowUnit(info, shared),
  };
}

/** State shared by the units of one policy: the price of a loaded MB-minute and the priors. */
class SharedState {
  /** Cold starts one loaded idle MB-minute is worth. */
  price: number;
  readonly budget: number | undefined;
  readonly tuning: WarmflowTuning;
  readonly priors = new Map<string, Prior>();
  #priceMinute = -1;

  constructor(price: number, budget: number | undefined, tuning: WarmflowTuning) {
    this.price = price;
    this.budget = budget;
    this.tuning = tuning;
  }

  /**
   * Expected idle MB-minutes of the windows chosen and not yet over, by the minute they
   * end: what is committed but not yet spent, as the windows' own idle-time odds expect.
   */
  expectedOutstanding = 0;
  readonly #endingAt = new Map<number, number>();

  /** Adds (or with a negative amount removes) a window's expected waste until `end`. */
  commit(amount: number, end: number): void {
    this.expectedOutstanding += amount;
    this.#endingAt.set(end, (this.#endingAt.get(end) ?? 0) + amount);
  }

  /** Spent plus committed, against what the budget allows so far. */
  committed(ledger: PolicyLedger): number {
    return ledger.wastedMbMinutes + this.expectedOutstanding;
  }

  /** Budget mode: what may be spent and committed by now. */
  allowed(ledger: PolicyLedger): number {
    const reference = ledger.referenceWastedMbMinutes;
    const rate = reference / (ledger.minute + 1);
    return (this.budget ?? 0) * (reference + rate * this.tuning.lookahead);
  }

  /** Budget mode: once a minute, move the price toward spending `target` of the budget. */
  steer(ledger: PolicyLedger): void {
    if (this.budget === undefined || ledger.minute === this.#priceMinute) return;
    for (let m = this.#priceMinute + 1; m < ledger.minute; m++) {
      const ending = this.#endingAt.get(m);
      if (ending !== undefined) {
        this.expectedOutstanding -= ending;
        this.#endingAt.delete(m);
      }
    }
    this.#priceMinute = ledger.minute;
    const allowed = this.allowed(ledger);
    if (allowed <= 0) return;
    const use = this.committed(ledger) / allowed;
    if (use > this.tuning.target) this.price *= 1 + this.tuning.step;
    else this.price /= 1 + this.tuning.step;
  }

  prior(trigger: string): Prior {
    let prior = this.priors.get(trigger);
    if (prior === undefined) {
      prior = new Prior();
      this.priors.set(trigger, prior);
    }
    return prior;
  }
}

/** Pooled idle times of the units of one trigger, with the window they last paid for. */
class Prior {
  readonly histogram = new IdleHistogram();
  #cached:
    | { total: number; priceBucket: number; window: WindowScore | undefined; smoothedTotal: number }
    | undefined;

  window(
    price: number,
    mb: number,
    refresh: number,
  ): { window: WindowScore | undefined; total: number } {
    const bucket = Math.round(Math.log(price * mb) * 8);
    const c = this.#cached;
    if (
      c === undefined ||
      c.priceBucket !== bucket ||
      this.histogram.total > c.total * (1 + refresh)
    ) {
      const smoothed = withTails(this.histogram, 1);
      const window = bestWindow(smoothed, price * mb);
      this.#cached = {
        total: this.histogram.total,
        priceBucket: bucket,
        window,
        smoothedTotal: smoothed.total,
      };
      return { window, total: smoothed.total };
    }
    return { window: c.window, total: c.smoothedTotal };
  }
}

class WarmflowUnit implements PolicyUnit {
  readonly #info: UnitInfo;
  readonly #shared: SharedState;
  readonly #histogram = new IdleHistogram();
  #last = -1;
  #computedAt = 0;
  #computedBucket = NaN;
  #window: WindowScore | undefined;
  #windowTotal = 0;
  /** Budget mode: this unit's share of the expected outstanding waste. */
  #commitment: { amount: number; end: number } | undefined;

  constructor(info: UnitInfo, shared: SharedState) {
    this.#info = info;
    this.#shared = shared;
  }

  afterInvocation(minute: number, _count: number, ledger: PolicyLedger): KeepAliveDecision {
    const shared = this.#shared;
    const mb = this.#info.memoryMb;
    const prior = shared.prior(this.#info.trigger ?? '');
    if (this.#last >= 0) {
      const idle = minute - this.#last - 1;
      this.#histogram.decay(shared.tuning.decay);
      this.#histogram.add(idle);
      prior.histogram.add(idle);
    }
    this.#last = minute;
    shared.steer(ledger);
    const price = shared.price * mb;
    let window: WindowScore | undefined;
    let total: number;
    let source: string;
    if (this.#histogram.total === 0) {
      ({ window, total } = prior.window(shared.price, mb, shared.tuning.refresh));
      source = `no idle time yet; pooled ${this.#info.trigger ?? 'unit'} idle times`;
    } else {
      const bucket = Math.round(Math.log(price) * 8);
      if (
        bucket !== this.#computedBucket ||
        this.#histogram.values.length < 8 ||
        this.#histogram.total > this.#computedAt * (1 + shared.tuning.refresh)
      ) {
        const smoothed = withTails(this.#histogram, shared.tuning.tails);
        this.#window = bestWindow(smoothed, price);
        this.#windowTotal = smoothed.total;
        this.#computedAt = this.#histogram.total;
        this.#computedBucket = bucket;
      }
      window = this.#window;
      total = this.#windowTotal;
      source = `${this.#histogram.values.length} distinct idle times`;
    }
    if (window === undefined) {
      return {
        ...STAY_COLD,
        reason: `warmflow: no window pays at ${fmt(price)} per minute (${source})`,
      };
    }
    const pre = window.pre;
    const ka = window.end - window.pre + 1;
    if (shared.budget !== undefined) {
      if (this.#commitment !== undefined)
        shared.commit(-this.#commitment.amount, this.#commitment.end);
      this.#commitment = undefined;
      const expected = (mb * window.waste) / Math.max(total, 1e-12);
      const room = shared.allowed(ledger) - shared.committed(ledger);
      if (expected > room) {
        return {
          ...STAY_COLD,
          reason: `warmflow: budget spent (${fmt(Math.max(0, room))} MB·min left)`,
        };
      }
      this.#commitment = { amount: expected, end: minute + pre + ka };
      shared.commit(expected, minute + pre + ka);
    }
    return {
      pre,
      ka,
      reason:
        `warmflow: warm ${pre}–${pre + ka - 1} min after use serves ` +
        `${pct(window.hits / Math.max(total, 1e-12))} of idle times (${source})`,
    };
  }
}

function fmt(x: number): string {
  return x.toPrecision(3);
}

function pct(x: number): string {
  return `${Math.round(Math.min(1, x) * 100)} %`;
}
