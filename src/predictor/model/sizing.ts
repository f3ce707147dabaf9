/**
 * The arithmetic from per-record costs to what a provider allocates. Pure functions,
 * so the rules are tested directly.
 */

const GiB = 1024 ** 3;

/** Knobs of {@link requiredCores} and {@link provisionMemoryGb}. */
export interface SizingPolicy {
  /** Share of a core the node may keep busy; DS2 and the HPA default are ~0.7. */
  targetUtilisation: number;
  /** Smallest step of cores a provider allocates (1, or 0.5 on providers with half cores). */
  coreStep: number;
  /** VPA-style safety margin over the upper estimate of memory (0.15 = +15 %). */
  memoryMargin: number;
  /** Memory granularity in GiB. */
  memoryStepGb: number;
  /** Smallest allocation in GiB. */
  minMemoryGb: number;
}

/** The default policy: 70 % target utilisation, whole cores, +15 % memory in 0.25 GiB steps. */
export const DEFAULT_SIZING: SizingPolicy = Object.freeze({
  targetUtilisation: 0.7,
  coreStep: 1,
  memoryMargin: 0.15,
  memoryStepGb: 0.25,
  minMemoryGb: 0.25,
});

/** Rounds `value` up to a multiple of `step`, tolerating float noise (0.75000000001 stays 0.75). */
export function roundUpTo(value: number, step: number): number {
  const units = value / step;
  return Math.max(step, Math.ceil(units - 1e-9) * step);
}

/** Fractional cores a node needs before rounding: rate × CPU per record / utilisation. */
export function coresNeeded(
  recordsPerSecond: number,
  cpuUsPerRecord: number,
  targetUtilisation: number,
): number {
  if (!(targetUtilisation > 0 && targetUtilisation <= 1)) {
    throw new RangeError(`target utilisation must be in (0, 1], got ${targetUtilisation}`);
  }
  return (Math.max(0, recordsPerSecond) * Math.max(0, cpuUsPerRecord)) / 1e6 / targetUtilisation;
}

/** Cores to allocate: {@link coresNeeded} rounded up to the provider's step, at least one step. */
export function requiredCores(
  recordsPerSecond: number,
  cpuUsPerRecord: number,
  policy: Pick<SizingPolicy, 'targetUtilisation' | 'coreStep'> = DEFAULT_SIZING,
): number {
  return roundUpTo(
    coresNeeded(recordsPerSecond, cpuUsPerRecord, policy.targetUtilisation),
    policy.coreStep,
  );
}

/** GiB to allocate for `bytes` of predicted peak: plus the margin, rounded up to the step. */
export function provisionMemoryGb(
  bytes: number,
  policy: Pick<SizingPolicy, 'memoryMargin' | 'memoryStepGb' | 'minMemoryGb'> = DEFAULT_SIZING,
): number {
  const gb = (Math.max(0, bytes) * (1 + policy.memoryMargin)) / GiB;
  return Math.max(policy.minMemoryGb, roundUpTo(gb, policy.memoryStepGb));
}

/** Bytes → GiB, for messages. */
export function toGb(bytes: number): number {
  return bytes / GiB;
}
