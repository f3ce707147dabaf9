import { DenseStore, type DenseStoreJson } from './dense-store.js';

/** Serialised form of a {@link DDSketch}. */
export interface DDSketchJson {
  alpha: number;
  maxBins: number;
  zero: number;
  positive: DenseStoreJson;
  negative: DenseStoreJson;
}

/** Magnitudes below this are counted as zero (they have no useful log index). */
const MIN_INDEXABLE = 1e-12;

/**
 * DDSketch (Masson, Rim, Lee 2019): a quantile sketch with relative accuracy `alpha`
 * on every quantile. Values are counted in logarithmic buckets, positive and negative
 * magnitudes in separate stores, so a merge is a bucket-wise sum and a merged sketch
 * equals the sketch of the concatenated input exactly (unlike merging by collapsing
 * signs, the bug `@datadog/sketches-js` has with negatives). Memory is bounded by
 * `maxBins` per sign: past it the lowest-magnitude buckets are collapsed, which only
 * coarsens quantiles among the smallest magnitudes.
 *
 * ```ts
 * const sketch = new DDSketch();
 * for (const ms of latencies) sketch.add(ms);
 * sketch.quantile(0.99);
 * ```
 */
export class DDSketch {
  readonly alpha: number;
  readonly maxBins: number;
  readonly #gamma: number;
  readonly #invLogGamma: number;
  #positive: DenseStore;
  #negative: DenseStore;
  #zero = 0;

  constructor(alpha = 0.01, maxBins = 2048) {
    if (!(alpha > 0 && alpha < 1))
      throw new RangeError(`DDSketch alpha must be in (0, 1), got ${alpha}`);
    this.alpha = alpha;
    this.maxBins = maxBins;
    this.#gamma = (1 + alpha) / (1 - alpha);
    this.#invLogGamma = 1 / Math.log(this.#gamma);
    this.#positive = new DenseStore(maxBins);
    this.#negative = new DenseStore(maxBins);
  }

  /** Number of values added. */
  get count(): number {
    return this.#zero + this.#positive.total + this.#negative.total;
  }

  /** Adds one value (NaN and ±Infinity are ignored: they have no quantile meaning). */
  add(x: number, weight = 1): void {
    if (x > MIN_INDEXABLE) {
      if (x === Infinity) return;
      this.#positive.add(Math.ceil(Math.log(x) * this.#invLogGamma), weight);
    } else if (x < -MIN_INDEXABLE) {
      if (x === -Infinity) return;
      this.#negative.add(Math.ceil(Math.log(-x) * this.#invLogGamma), weight);
    } else if (x === x) {
      this.#zero += weight;
    }
  }

  /** The value at quantile `q` in [0, 1], within relative error `alpha`; NaN when empty. */
  quantile(q: number): number {
    const count = this.count;
    if (count === 0) return NaN;
    // The value of rank floor(q (n - 1)), the lower of the two around a fractional rank.
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (count - 1));
    const negTotal = this.#negative.total;
    if (rank < negTotal) {
      // Negative values sorted ascending are magnitudes sorted descending.
      const index = this.#negative.keyAtRank(negTotal - 1 - rank);
      return -this.#value(index);
    }
    if (rank < negTotal + this.#zero) return 0;
    return this.#value(this.#positive.keyAtRank(rank - negTotal - this.#zero));
  }

  #value(index: number): number {
    return (2 * Math.pow(this.#gamma, index)) / (this.#gamma + 1);
  }

  /** Adds `other`'s buckets into this sketch (same `alpha` required). */
  merge(other: DDSketch): this {
    if (other.alpha !== this.alpha)
      throw new RangeError(`cannot merge DDSketch alpha=${other.alpha} into ${this.alpha}`);
    this.#positive.merge(other.#positive);
    this.#negative.merge(other.#negative);
    this.#zero += other.#zero;
    return this;
  }

  /** A JSON-safe copy of the whole state. */
  toJSON(): DDSketchJson {
    return {
      alpha: this.alpha,
      maxBins: this.maxBins,
      zero: this.#zero,
      positive: this.#positive.toJSON(),
      negative: this.#negative.toJSON(),
    };
  }

  /** Rebuilds a sketch from {@link toJSON}'s output. */
  static fromJSON(json: DDSketchJson): DDSketch {
    const sketch = new DDSketch(json.alpha, json.maxBins);
    sketch.#zero = json.zero;
    sketch.#positive = DenseStore.fromJSON(json.positive, json.maxBins);
    sketch.#negative = DenseStore.fromJSON(json.negative, json.maxBins);
    return sketch;
  }
}
