/**
 * The same policy run alongside at several prices of a loaded idle MB-minute (cheapest
 * first), each level's wasted memory accounted minute by minute from the windows its
 * units chose — the budget mode follows the cheapest level that has kept within budget.
 * Only minutes already over are counted, so following it stays causal.
 */
export class PriceLadder {
  readonly prices: readonly number[];
  /** Wasted MB-minutes of each level over minutes < `#minute`. */
  readonly wasted: number[];
  /** Loaded MB-minutes each level has scheduled after the current minute. */
  readonly outstanding: number[];
  readonly #rate: number[];
  readonly #used: number[];
  readonly #deltas: Map<number, number>[];
  #minute = 0;
  #chosen = 0;
  #chosenAt = -1;

  constructor(prices: readonly number[]) {
    this.prices = [...prices].sort((a, b) => a - b);
    const n = this.prices.length;
    this.wasted = new Array<number>(n).fill(0);
    this.#rate = new Array<number>(n).fill(0);
    this.outstanding = new Array<number>(n).fill(0);
    this.#used = new Array<number>(n).fill(0);
    this.#deltas = Array.from({ length: n }, () => new Map<number, number>());
  }

  /** Closes the minutes before `minute`: loaded MB not used by an invocation is waste. */
  advance(minute: number): void {
    while (this.#minute < minute) {
      const t = this.#minute;
      for (let k = 0; k < this.prices.length; k++) {
        const delta = this.#deltas[k].get(t);
        if (delta !== undefined) {
          this.#rate[k] += delta;
          this.#deltas[k].delete(t);
        }
        this.wasted[k] += this.#rate[k] - this.#used[k];
        this.outstanding[k] -= this.#rate[k];
        this.#used[k] = 0;
      }
      this.#minute++;
    }
  }

  /** A unit of `mb` was loaded at level k in the current minute and served an invocation. */
  used(level: number, mb: number): void {
    this.#used[level] += mb;
  }

  /** Level k's unit is loaded in minutes from..to (from ≥ the current minute + 1). */
  load(level: number, from: number, to: number, mb: number): void {
    this.#add(level, from, mb);
    this.#add(level, to + 1, -mb);
    this.outstanding[level] += (to - from + 1) * mb;
  }

  /** Level k's unit is no longer loaded in from..to (a window replaced). */
  unload(level: number, from: number, to: number, mb: number): void {
    if (from > to) return;
    this.#add(level, from, -mb);
    this.#add(level, to + 1, mb);
    this.outstanding[level] -= (to - from + 1) * mb;
  }

  /**
   * Once a minute: the cheapest level whose waste so far plus `committed` × what it has
   * scheduled is within `allowed`, else the dearest.
   */
  choose(minute: number, allowed: number, committed: number): number {
    if (this.#chosenAt !== minute) {
      this.#chosenAt = minute;
      let k = 0;
      while (
        k < this.prices.length - 1 &&
        this.wasted[k] + committed * this.outstanding[k] > allowed
      )
        k++;
      this.#chosen = k;
    }
    return this.#chosen;
  }

  #add(level: number, at: number, mb: number): void {
    if (!Number.isFinite(at)) return;
    const map = this.#deltas[level];
    map.set(at, (map.get(at) ?? 0) + mb);
  }
}
