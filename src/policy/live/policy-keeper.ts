import { fixedPolicy } from '../fixed-policy.js';
import type { KeepAlivePolicy, PolicyLedger, PolicyUnit } from '../keep-alive-policy.js';

/** A (tenant, flow) whose warm pool the keeper runs. */
export interface LiveUnit {
  tenant: string;
  /** The flow (template version) id. */
  flow_id: string;
  template: string;
  /** Memory of one warm set of the flow (MB): what keeping it loaded costs. */
  memory_mb: number;
}

/** What the keeper does to pools; the server adapts its pool port (quotas included). */
export interface KeeperPools {
  /** Makes one set of the unit's resources warm (no-op if it is). */
  warm(unit: LiveUnit): Promise<void>;
  /** Releases the unit's warm resources. */
  release(unit: LiveUnit): Promise<void>;
}

/** One decision, as the dashboard's pool timeline and `/v1/policy/decisions` show it. */
export interface KeeperDecision {
  at: string;
  tenant: string;
  flow_id: string;
  template: string;
  /** Policy minute (minutes since the keeper started, scaled). */
  minute: number;
  action: 'cold-start' | 'warm-hit' | 'window' | 'pre-warm' | 'release' | 'failed';
  pre?: number;
  ka?: number;
  reason: string;
}

/** Configuration of a {@link PolicyKeeper}. */
export interface PolicyKeeperConfig {
  policy: KeepAlivePolicy;
  pools: KeeperPools;
  /** Length of one policy minute in real milliseconds (60 000; less to compress time). */
  minuteMs: number;
  /** Decisions kept per tenant; default 500. */
  maxDecisions?: number;
  /** Called on every decision (metrics). */
  onDecision?: (decision: KeeperDecision) => void;
  now?: () => number;
}

interface UnitState {
  unit: LiveUnit;
  policy: PolicyUnit;
  reference: PolicyUnit;
  last: number;
  from: number;
  to: number;
  refFrom: number;
  refTo: number;
  timers: NodeJS.Timeout[];
}

/**
 * Runs a keep-alive policy on real execution requests: the same policy objects as
 * `warmflow simulate`, fed one invocation minute per (tenant, flow) as requests arrive,
 * with the same window rule. After each invocation minute it releases the flow's pool
 * when the window starts later (pre > 0), pre-warms it ahead of the window's start by the
 * measured time a warm-up takes (its slow cases: {@link leadMs}), and releases it when the
 * window ends.
 */
export class PolicyKeeper {
  readonly #config: Readonly<PolicyKeeperConfig>;
  readonly #units = new Map<string, UnitState>();
  readonly #decisions = new Map<string, KeeperDecision[]>();
  /** Minute 0 starts here (ms since the epoch). */
  readonly epochMs: number;
  #wasted = 0;
  #referenceWasted = 0;
  /**
   * Measured warm-up time: smoothed mean and mean deviation (ms). A window is warmed
   * `mean + 4 × deviation` ahead of its start (the rule TCP times retransmissions by,
   * RFC 6298): a warm-up that varies, as on a loaded machine, is started early enough for
   * its slow cases, not its average.
   */
  #warmMs: { mean: number; deviation: number } | undefined;
  #closed = false;
  readonly #reference = fixedPolicy(10);
  readonly #counts = new Map<string, { invocation_minutes: number; cold_starts: number }>();

  constructor(config: PolicyKeeperConfig) {
    this.#config = Object.freeze({ ...config });
    this.epochMs = this.#now();
  }

  #now(): number {
    return this.#config.now?.() ?? Date.now();
  }

  /** The policy minute of a moment. */
  minuteAt(ms: number): number {
    return Math.floor((ms - this.epochMs) / this.#config.minuteMs);
  }

  /** How long before a window starts its pool is warmed (ms): 0 until a warm-up was measured. */
  get leadMs(): number {
    const w = this.#warmMs;
    return w === undefined ? 0 : Math.round(w.mean + 4 * w.deviation);
  }

  /** Length of one policy minute (ms). */
  get minuteMs(): number {
    return this.#config.minuteMs;
  }

  get spec(): string {
    return this.#config.policy.spec;
  }

  /**
   * An execution request for `unit` arrived. Returns whether, under the policy's window,
   * the unit was loaded (warm) this minute — what the simulation would count.
   */
  observe(unit: LiveUnit): { minute: number; warm: boolean } {
    const minute = this.minuteAt(this.#now());
    const id = `${unit.tenant}\u0000${unit.flow_id}`;
    let state = this.#units.get(id);
    if (state === undefined) {
      state = {
        unit,
        policy: this.#config.policy.unit({ key: id, memoryMb: unit.memory_mb }),
        reference: this.#reference.unit({ key: id, memoryMb: unit.memory_mb }),
        last: -1,
        from: Infinity,
        to: -Infinity,
        refFrom: Infinity,
        refTo: -Infinity,
        timers: [],
      };
      this.#units.set(id, state);
    }
    state.unit = unit;
    if (state.last === minute) return { minute, warm: true };
    const warm = state.from <= minute && minute <= state.to;
    // Idle loaded minutes of the windows this invocation ends (fixed:10 alongside, for budgets).
    this.#wasted += idleBefore(state.from, state.to, minute) * unit.memory_mb;
    this.#referenceWasted += idleBefore(state.refFrom, state.refTo, minute) * unit.memory_mb;
    state.last = minute;
    const counts = this.#counts.get(unit.tenant) ?? { invocation_minutes: 0, cold_starts: 0 };
    counts.invocation_minutes++;
    if (!warm) counts.cold_starts++;
    this.#counts.set(unit.tenant, counts);
    this.#record(
      state,
      minute,
      warm ? 'warm-hit' : 'cold-start',
      warm ? 'inside the window' : 'outside the window',
    );
    const ledger: PolicyLedger = {
      minute,
      wastedMbMinutes: this.#wasted,
      outstandingMbMinutes: 0,
      referenceWastedMbMinutes: this.#referenceWasted,
    };
    const ref = state.reference.afterInvocation(minute, 1, ledger);
    state.refFrom = minute + ref.pre + 1;
    state.refTo = minute + ref.pre + ref.ka;
    const decision = state.policy.afterInvocation(minute, 1, ledger);
    state.from = minute + decision.pre + 1;
    state.to = minute + decision.pre + decision.ka;
    if (decision.pre === Infinity) state.to = -Infinity;
    this.#record(state, minute, 'window', decision.reason, decision.pre, decision.ka);
    this.#schedule(state, minute);
    return { minute, warm };
  }

  #schedule(state: UnitState, minute: number): void {
    for (const timer of state.timers) clearTimeout(timer);
    state.timers = [];
    const { minuteMs } = this.#config;
    const startOf = (m: number) => this.epochMs + m * minuteMs;
    const at = (ms: number, action: () => void) => {
      const timer = setTimeout(action, Math.max(0, ms - this.#now()));
      timer.unref();
      state.timers.push(timer);
    };
    if (state.from > minute + 1) {
      // Unloaded first: the current minute counts as loaded, then release.
      at(startOf(minute + 1), () => void this.#release(state, 'unloaded until the window starts'));
    }
    if (Number.isFinite(state.from) && state.to >= state.from) {
      // The current minute counts as loaded, so a window starting next minute is warmed now.
      const warmAt = state.from === minute + 1 ? this.#now() : startOf(state.from) - this.leadMs;
      at(warmAt, () => void this.#warm(state));
      at(
        startOf(state.to + 1),
        () => void this.#release(state, 'the window ended without an invocation'),
      );
    }
  }

  async #warm(state: UnitState): Promise<void> {
    if (this.#closed) return;
    const started = this.#now();
    try {
      await this.#config.pools.warm(state.unit);
      const took = this.#now() - started;
      const w = this.#warmMs;
      this.#warmMs =
        w === undefined
          ? { mean: took, deviation: took / 2 }
          : {
              mean: 0.875 * w.mean + 0.125 * took,
              deviation: 0.75 * w.deviation + 0.25 * Math.abs(w.mean - took),
            };
      this.#record(
        state,
        this.minuteAt(started),
        'pre-warm',
        `warm for minutes ${state.from}–${state.to} (took ${took} ms)`,
      );
    } catch (error) {
      this.#record(
        state,
        this.minuteAt(started),
        'failed',
        `pre-warm failed: ${(error as Error).message}`,
      );
    }
  }

  async #release(state: UnitState, why: string): Promise<void> {
    if (this.#closed) return;
    const minute = this.minuteAt(this.#now());
    try {
      await this.#config.pools.release(state.unit);
      this.#record(state, minute, 'release', why);
    } catch (error) {
      this.#record(state, minute, 'failed', `release failed: ${(error as Error).message}`);
    }
  }

  #record(
    state: UnitState,
    minute: number,
    action: KeeperDecision['action'],
    reason: string,
    pre?: number,
    ka?: number,
  ): void {
    const decision: KeeperDecision = {
      at: new Date(this.#now()).toISOString(),
      tenant: state.unit.tenant,
      flow_id: state.unit.flow_id,
      template: state.unit.template,
      minute,
      action,
      ...(pre === undefined ? {} : { pre: Number.isFinite(pre) ? pre : -1 }),
      ...(ka === undefined ? {} : { ka }),
      reason,
    };
    const list = this.#decisions.get(decision.tenant) ?? [];
    list.push(decision);
    const max = this.#config.maxDecisions ?? 500;
    if (list.length > max) list.splice(0, list.length - max);
    this.#decisions.set(decision.tenant, list);
    this.#config.onDecision?.(decision);
  }

  /** A tenant's invocation minutes and cold starts under the policy's windows so far. */
  counts(tenant: string): { invocation_minutes: number; cold_starts: number } {
    return { ...(this.#counts.get(tenant) ?? { invocation_minutes: 0, cold_starts: 0 }) };
  }

  /** A tenant's decisions, oldest first. */
  decisions(tenant: string): KeeperDecision[] {
    return [...(this.#decisions.get(tenant) ?? [])];
  }

  /** Stops every timer (the server is closing). */
  close(): void {
    this.#closed = true;
    for (const state of this.#units.values()) for (const timer of state.timers) clearTimeout(timer);
  }
}

/** Loaded minutes of window from..to before minute `minute` (all idle: `minute` is the next invocation). */
function idleBefore(from: number, to: number, minute: number): number {
  const end = Math.min(to, minute - 1);
  return end >= from ? end - from + 1 : 0;
}
