/** Serialised form of a {@link DenseStore}: counts from index `offset` upwards. */
export interface DenseStoreJson {
  offset: number;
  counts: number[];
}

/**
 * Bucket counts of a {@link DDSketch} for one sign, kept in a contiguous array that
 * grows to cover the indices seen. When it would span more than `maxBins` indices the
 * lowest buckets are folded into the lowest kept one (DDSketch's "collapsing lowest"
 * store), so memory stays bounded whatever the input.
 */
export class DenseStore {
  readonly #maxBins: number;
  #counts = new Float64Array(0);
  /** Index of `#counts[0]`. */
  #offset = 0;
  #total = 0;
  /** Lowest and highest index with a non-zero count (meaningless while empty). */
  #min = Infinity;
  #max = -Infinity;

  constructor(maxBins: number) {
    this.#maxBins = maxBins;
  }

  get total(): number {
    return this.#total;
  }

  add(index: number, weight: number): void {
    if (index < this.#min || index > this.#max) index = this.#extend(index);
    this.#counts[index - this.#offset] += weight;
    this.#total += weight;
  }

  /** Makes room for `index`; returns the index to count under (raised if collapsed). */
  #extend(index: number): number {
    const min = Math.min(this.#min, index);
    const max = Math.max(this.#max, index);
    if (max - min + 1 > this.#maxBins) {
      const lowest = max - this.#maxBins + 1;
      this.#reallocate(lowest, max);
      this.#min = lowest;
      this.#max = max;
      return Math.max(index, lowest);
    }
    if (min < this.#offset || max >= this.#offset + this.#counts.length) this.#reallocate(min, max);
    this.#min = min;
    this.#max = max;
    return index;
  }

  /** Re-bases the array so it covers [lowest, max] with slack, folding anything below `lowest` into it. */
  #reallocate(lowest: number, max: number): void {
    const span = max - lowest + 1;
    const length = Math.min(this.#maxBins, Math.max(64, span * 2));
    const offset = lowest - ((length - span) >> 1);
    const counts = new Float64Array(length);
    const old = this.#counts;
    for (let i = 0; i < old.length; i++) {
      const c = old[i];
      if (c === 0) continue;
      const index = Math.max(i + this.#offset, lowest);
      counts[index - offset] += c;
    }
    this.#counts = counts;
    this.#offset = offset;
  }

  /** The bucket index holding the value of rank `rank` (0-based integer) in ascending index order. */
  keyAtRank(rank: number): number {
    let running = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i];
      if (c === 0) continue;
      running += c;
      if (running > rank) return i + this.#offset;
    }
    return this.#max;
  }

  merge(other: DenseStore): void {
    if (other.#total === 0) return;
    const counts = other.#counts;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] !== 0) this.add(i + other.#offset, counts[i]);
    }
  }

  toJSON(): DenseStoreJson {
    if (this.#total === 0) return { offset: 0, counts: [] };
    const from = this.#min - this.#offset;
    const to = this.#max - this.#offset + 1;
    return { offset: this.#min, counts: Array.from(this.#counts.subarray(from, to)) };
  }

  static fromJSON(json: DenseStoreJson, maxBins: number): DenseStore {
    const store = new DenseStore(maxBins);
    for (let i = 0; i < json.counts.length; i++)
      if (json.counts[i] !== 0) store.add(json.offset + i, json.counts[i]);
    return store;
  }
}
