/**
 * The contract every pre-warm / keep-alive policy implements, in simulation and live.
 *
 * After each minute a unit (a trace function, or a tenant's template version in `serve`)
 * is invoked in, its policy chooses a window: unloaded for `pre` minutes, then loaded
 * (warm) for `ka` minutes, then unloaded; the latest window replaces the earlier ones.
 * The policy sees only what has happened up to that minute.
 */
export interface KeepAliveDecision {
  /** Minutes to stay unloaded after the invocation minute (≥ 0; `Infinity`: stay unloaded). */
  pre: number;
  /** Minutes to stay loaded after that (≥ 1). */
  ka: number;
  /** Why, for people: shown on the dashboard's pool timeline and in `--explain` output. */
  reason: string;
}

/** What a unit is, as far as a policy may know. */
export interface UnitInfo {
  key: string;
  /** Memory a warm instance holds (MB): what keeping it loaded costs. */
  memoryMb: number;
  /** Trigger kind when known (timer, http, queue…): units of one kind share a prior. */
  trigger?: string;
}

/**
 * Running totals the policy may read when it decides (all up to and including the
 * current minute, so decisions stay causal).
 */
export interface PolicyLedger {
  /** The current minute (the invocation minute being decided after). */
  minute: number;
  /** Warm idle MB-minutes this policy has spent so far. */
  wastedMbMinutes: number;
  /** MB-minutes of windows already chosen that lie after the current minute. */
  outstandingMbMinutes: number;
  /** Warm idle MB-minutes `fixed:10` has spent so far on the same units. */
  referenceWastedMbMinutes: number;
}

/** A policy's state for one unit. */
export interface PolicyUnit {
  /** Called after minute `minute`, in which the unit was invoked `count` (> 0) times. */
  afterInvocation(minute: number, count: number, ledger: PolicyLedger): KeepAliveDecision;
}

/** A policy: one instance per simulation (or per server), creating per-unit state. */
export interface KeepAlivePolicy {
  /** The policy as written, e.g. `fixed:10`, `hybrid`, `warmflow:1.5`. */
  readonly spec: string;
  /** Whether the policy reads {@link PolicyLedger.referenceWastedMbMinutes} (budget modes). */
  readonly needsReference: boolean;
  unit(info: UnitInfo): PolicyUnit;
}

/** The window that keeps a unit unloaded until its next invocation. */
export const STAY_COLD: Readonly<Pick<KeepAliveDecision, 'pre' | 'ka'>> = Object.freeze({
  pre: Infinity,
  ka: 1,
});
