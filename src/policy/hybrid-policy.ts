import type { KeepAlivePolicy, PolicyUnit, KeepAliveDecision } from './keep-alive-policy.js';

/** Histogram range of the hybrid policy: 240 one-minute bins (4 hours). */
export const HYBRID_BINS = 240;

/**
 * The hybrid-histogram policy of "Serverless in the Wild" (Shahrad et al., ATC'20), per
 * unit, computed in exact integer arithmetic:
 * - more than half of the idle times out of range: forecast the next idle time as the
 *   latest one p; pre = ⌊0.85p⌋, ka = max(1, ⌈0.30p⌉);
 * - else with ≥ 10 idle times in range and a coefficient of variation of the 240 bin
 *   counts ≥ 2 (⟺ 240·Σb² ≥ 5n²): head/tail = 5th/99th percentile bins,
 *   pre = ⌊0.9·head⌋, ka = max(1, ⌈1.1·tail⌉ − pre + 1);
 * - else pre = 0, ka = 240.
 */
export function hybridPolicy(spec = 'hybrid'): KeepAlivePolicy {
  return { spec, needsReference: false, unit: () => new HybridUnit() };
}

class HybridUnit implements PolicyUnit {
  readonly #bins = new Int32Array(HYBRID_BINS);
  #inRange = 0;
  #outOfRange = 0;
  /** Σ b² over the bins, kept as bins change (exact while < 2⁵³). */
  #sumSquares = 0;
  #last = -1;
  #latestIdle = -1;

  afterInvocation(minute: number): KeepAliveDecision {
    if (this.#last >= 0) {
      const idle = minute - this.#last - 1;
      this.#latestIdle = idle;
      if (idle < HYBRID_BINS) {
        const b = this.#bins[idle];
        this.#sumSquares += 2 * b + 1;
        this.#bins[idle] = b + 1;
        this.#inRange++;
      } else this.#outOfRange++;
    }
    this.#last = minute;
    const total = this.#inRange + this.#outOfRange;
    if (total > 0 && 2 * this.#outOfRange > total) {
      const p = this.#latestIdle;
      return {
        pre: Math.floor((85 * p) / 100),
        ka: Math.max(1, Math.ceil((3 * p) / 10)),
        reason: `hybrid: most idle times exceed 4 h; forecast next idle ${p} min`,
      };
    }
    const n = this.#inRange;
    if (n >= 10 && HYBRID_BINS * this.#sumSquares >= 5 * n * n) {
      const head = this.#percentileBin(5);
      const tail = this.#percentileBin(99);
      const pre = Math.floor((9 * head) / 10);
      return {
        pre,
        ka: Math.max(1, Math.ceil((11 * tail) / 10) - pre + 1),
        reason: `hybrid: idle-time histogram of ${n}, 5th pct ${head} min, 99th ${tail} min`,
      };
    }
    return { pre: 0, ka: HYBRID_BINS, reason: 'hybrid: histogram not representative; 4 h' };
  }

  /** The smallest bin whose cumulative count reaches p % of the in-range total. */
  #percentileBin(p: number): number {
    let cumulative = 0;
    for (let bin = 0; bin < HYBRID_BINS; bin++) {
      cumulative += this.#bins[bin];
      if (100 * cumulative >= p * this.#inRange) return bin;
    }
    return HYBRID_BINS - 1;
  }
}
