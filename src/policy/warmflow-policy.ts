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
import { PriceLadder } from './price-ladder.js';

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
  /** Budget mode: share of the allowance the chosen price level may have spent. */
  target: number;
  /** Weight of an old idle time relative to the newest after each new one (recency). */
  decay: number;
  /** Relative growth of a unit's histogram after which its windows are recomputed. */
  refresh: number;
  /** Weight of the unseen idle times beyond those seen (see `withTails`). */
  tails: number;
  /** Weight given to idle times one minute either side of each seen (minute-bin jitter). */
  jitter: number;
  /**
   * Budget mode: minutes of fixed:10's average waste rate so far that may be spent ahead
   * of it (its waste only grows; without this nothing could be kept warm at first).
   */
  lookahead: number;
  /** Budget mode: weight of a level's scheduled loaded minutes against its allowance. */
  committed: number;
  /** Budget mode: price levels, as factors of the cost-mode price. */
  levels: readonly number[];
}

const DEFAULT_TUNING: WarmflowTuning = {
  target: 0.95,
  decay: 0.995,
  refresh: 0.1,
  tails: 0.3,
  jitter: 0.1,
  lookahead: 15,
  committed: 0.02,
  // From 1/512 to 8 × the cost-mode price in steps of √2.
  levels: Array.from({ length: 25 }, (_, k) => 2 ** ((k - 18) / 2)),
};

/**
 * The warmflow policy: per unit, the distribution of its idle times; after each
 * invocation it picks the window (pre, ka) that maximises expected warm hits minus the
 * price of the loaded idle minutes it costs, weighted by the unit's memory, so cheap,
 * regular units are kept warm before large, erratic ones.
 *
 * - Cost mode (`warmflow`): the price of a loaded MB-minute, in cold starts, is the cost
 *   model's idle price / cold-start value.
 * - Budget mode (`warmflow:B`): the same policy runs alongside at a ladder of prices
 *   (cheapest to dearest), each simulated on the invocations seen so far; every minute
 *   the cheapest level whose wasted memory so far is within the allowance (B × fixed:10's
 *   waste so far, plus a short lookahead at its average rate) is followed.
 *
 * A unit never seen idle takes the window that pays over the pooled idle times of units
 * with its trigger.
 */
export function warmflowPolicy(options: WarmflowPolicyOptions = {}): KeepAlivePolicy {
  const model = options.costModel ?? DEFAULT_COST_MODEL;
  const tuning: WarmflowTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const budget = options.budget;
  const spec = options.spec ?? (budget === undefined ? 'warmflow' : `warmflow:${budget}`);
  const base = idlePricePerMbMinute(model) / coldStartValue(model);
  const prices = budget === undefined ? [base] : tuning.levels.map((f) => f * base);
  const shared = new SharedState(new PriceLadder(prices), budget, tuning);
  return {
    spec,
    needsReference: budget !== undefined,
    unit: (info) => new WarmflowUnit(info, shared),
  };
}

/** State shared by the units of one policy: the price ladder and the priors. */
class SharedState {
  readonly ladder: PriceLadder;
  readonly budget: number | undefined;
  readonly tuning: WarmflowTuning;
  readonly priors = new Map<string, Prior>();

  constructor(ladder: PriceLadder, budget: number | undefined, tuning: WarmflowTuning) {
    this.ladder = ladder;
    this.budget = budget;
    this.tuning = tuning;
  }

  /** Budget mode: what may have been spent by now. */
  allowed(ledger: PolicyLedger): number {
    const reference = ledger.referenceWastedMbMinutes;
    const rate = reference / (ledger.minute + 1);
    return (this.budget ?? 0) * (reference + rate * this.tuning.lookahead);
  }

  prior(trigger: string): Prior {
    let prior = this.priors.get(trigger);
    if (prior === undefined) {
      prior = new Prior(this.tuning);
      this.priors.set(trigger, prior);
    }
    return prior;
  }
}

const FIRST_WINDOW: WindowScore = Object.freeze({ pre: 0, end: 0, hits: 0, waste: 0 });

/** Pooled idle times of the units of one trigger, with the windows they last paid for. */
class Prior {
  readonly histogram = new IdleHistogram();
  readonly #tuning: WarmflowTuning;
  readonly #cache = new Map<
    number,
    { total: number; window: WindowScore | undefined; smoothedTotal: number }
  >();

  constructor(tuning: WarmflowTuning) {
    this.#tuning = tuning;
  }

  window(price: number): { window: WindowScore | undefined; total: number } {
    // Nothing seen anywhere yet: one loaded minute catches back-to-back invocations and
    // wastes no more than any keep-alive would on the same idle time.
    if (this.histogram.total === 0) return { window: FIRST_WINDOW, total: 1 };
    const bucket = Math.round(Math.log(price) * 8);
    const c = this.#cache.get(bucket);
    if (c === undefined || this.histogram.total > c.total * (1 + this.#tuning.refresh)) {
      const smoothed = withTails(this.histogram, this.#tuning.tails, this.#tuning.jitter);
      const window = bestWindow(smoothed, price);
      this.#cache.set(bucket, {
        total: this.histogram.total,
        window,
        smoothedTotal: smoothed.total,
      });
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
  /** Per price level: the window that pays, and the smoothed total it was scored over. */
  #windows: (WindowScore | undefined)[] = [];
  #windowTotal = 0;
  /** Per price level: the unit's current window in that level's run (first, last minute). */
  readonly #from: number[];
  readonly #to: number[];

  constructor(info: UnitInfo, shared: SharedState) {
    this.#info = info;
    this.#shared = shared;
    const n = shared.ladder.prices.length;
    this.#from = new Array<number>(n).fill(Infinity);
    this.#to = new Array<number>(n).fill(-Infinity);
  }

  afterInvocation(minute: number, _count: number, ledger: PolicyLedger): KeepAliveDecision {
    const shared = this.#shared;
    const ladder = shared.ladder;
    const mb = this.#info.memoryMb;
    const prior = shared.prior(this.#info.trigger ?? '');
    ladder.advance(minute);
    if (this.#last >= 0) {
      const idle = minute - this.#last - 1;
      this.#histogram.decay(shared.tuning.decay);
      this.#histogram.add(idle);
      prior.histogram.add(idle);
    }
    this.#last = minute;
    const known = this.#histogram.total > 0;
    if (
      known &&
      (this.#windows.length === 0 ||
        this.#histogram.values.length < 8 ||
        this.#histogram.total > this.#computedAt * (1 + shared.tuning.refresh))
    ) {
      const smoothed = withTails(this.#histogram, shared.tuning.tails, shared.tuning.jitter);
      this.#windows = ladder.prices.map((p) => bestWindow(smoothed, p * mb));
      this.#windowTotal = smoothed.total;
      this.#computedAt = this.#histogram.total;
    }
    const chosen =
      shared.budget === undefined
        ? 0
        : ladder.choose(
            minute,
            shared.tuning.target * shared.allowed(ledger),
            shared.tuning.committed,
          );
    let decision: KeepAliveDecision | undefined;
    for (let level = 0; level < ladder.prices.length; level++) {
      const { window, total } = known
        ? { window: this.#windows[level], total: this.#windowTotal }
        : prior.window(ladder.prices[level] * mb);
      // Every level runs this unit's window as if it had been followed all along.
      const from = this.#from[level];
      const to = this.#to[level];
      if (from <= minute && minute <= to) ladder.used(level, mb);
      ladder.unload(level, Math.max(from, minute + 1), to, mb);
      if (window === undefined) {
        this.#from[level] = Infinity;
        this.#to[level] = -Infinity;
      } else {
        this.#from[level] = minute + window.pre + 1;
        this.#to[level] = minute + window.end + 1;
        ladder.load(level, this.#from[level], this.#to[level], mb);
      }
      if (level === chosen)
        decision = this.#explain(window, total, ladder.prices[level] * mb, known);
    }
    return decision!;
  }

  #explain(
    window: WindowScore | undefined,
    total: number,
    price: number,
    known: boolean,
  ): KeepAliveDecision {
    const source = known
      ? `${this.#histogram.values.length} distinct idle times`
      : `no idle time yet; pooled ${this.#info.trigger ?? 'unit'} idle times`;
    const mode =
      this.#shared.budget === undefined ? 'cost' : `budget ${this.#shared.budget}× fixed:10`;
    if (window === undefined) {
      return {
        ...STAY_COLD,
        reason: `warmflow (${mode}): no window pays at ${fmt(price)} cold starts per idle minute (${source})`,
      };
    }
    return {
      pre: window.pre,
      ka: window.end - window.pre + 1,
      reason:
        `warmflow (${mode}): warm ${window.pre}–${window.end} min after use serves ` +
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
