import { HASH, hashValue } from './hash64.js';

/** A value the frequent-items summary can hold. */
export type FrequentKey = string | number | boolean;

/** Serialised form of a {@link MisraGries} summary: entries are `[value, count, hashHi, hashLo]`. */
export interface MisraGriesJson {
  k: number;
  error: number;
  total: number;
  entries: Array<[FrequentKey, number, number, number]>;
}

/** Longer strings are kept by a prefix, so one huge value cannot pin memory. */
const MAX_KEY_LENGTH = 200;

/**
 * Misra-Gries frequent items with the mergeable-summaries merge (Agarwal et al. 2012).
 * Every value whose true count exceeds `total / (k + 1)` is kept; a kept value's
 * count is a lower bound and `count + error` an upper bound of its true count, where
 * `error` is the total amount subtracted so far.
 *
 * Values are identified by their 64-bit hash (the one the distinct counter already
 * computed), in an open-addressing table in one typed array, so counting a value
 * allocates nothing. The table holds up to `2k` entries; when it overflows, the
 * (k+1)-th largest count is subtracted from every entry at once and those reaching
 * zero are dropped (one O(k) rebuild per at least k new values: O(1) amortised).
 *
 * ```ts
 * const mg = new MisraGries(64);
 * for (const country of countries) mg.add(country);
 * mg.top(10); // [{ value: 'US', count: 1234, error: 0 }, ...]
 * ```
 */
export class MisraGries {
  readonly k: number;
  readonly #limit: number;
  readonly #mask: number;
  /**
   * The table, one slot per 4 numbers: count (0 marks a free slot), hash hi, hash lo,
   * unused. A probe reads one slot, so it touches one cache line instead of one per
   * array: the profiler's tables are usually out of cache, evicted by the records
   * being parsed, and a miss per array was most of a lookup's cost.
   */
  #table: Float64Array;
  #values: Array<FrequentKey | undefined>;
  /** The table and values prune() rebuilds into, kept to avoid allocating on every pruning. */
  #spareTable: Float64Array | undefined;
  #spareValues: Array<FrequentKey | undefined> | undefined;
  #scratch: Float64Array | undefined;
  #size = 0;
  #error = 0;
  #total = 0;

  constructor(k = 64) {
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`MisraGries k must be a positive integer, got ${k}`);
    this.k = k;
    this.#limit = 2 * k;
    // At most 2k entries in 2^ceil(log2(4k)) slots: the load stays at or below one half.
    const slots = 1 << Math.ceil(Math.log2(4 * k));
    this.#mask = slots - 1;
    this.#table = new Float64Array(slots * 4);
    this.#values = new Array<FrequentKey | undefined>(slots).fill(undefined);
  }

  /** Total weight added. */
  get total(): number {
    return this.#total;
  }

  /** Upper bound on how much any count was undercounted. */
  get error(): number {
    return this.#error;
  }

  /** Adds a value, hashing it first. */
  add(value: FrequentKey, weight = 1): void {
    hashValue(value);
    this.addHashed(HASH[0], HASH[1], value, weight);
  }

  /**
   * Adds a value whose 64-bit hash (`hashValue`'s) is already known. Returns true when
   * the hash was already held: a caller that feeds every hash to a distinct counter too
   * can skip that counter then, since it has seen this hash before.
   */
  addHashed(hi: number, lo: number, value: FrequentKey, weight = 1): boolean {
    this.#total += weight;
    const table = this.#table;
    const mask = this.#mask;
    let slot = lo & mask;
    for (;;) {
      const at = slot << 2;
      const c = table[at];
      if (c === 0) break;
      if (table[at + 1] === hi && table[at + 2] === lo) {
        table[at] = c + weight;
        return true;
      }
      slot = (slot + 1) & mask;
    }
    if (this.#size >= this.#limit) {
      this.#prune();
      slot = this.#freeSlot(this.#table, lo);
    }
    // Not `table`: a pruning swapped it.
    const at = slot << 2;
    this.#table[at] = weight;
    this.#table[at + 1] = hi;
    this.#table[at + 2] = lo;
    this.#values[slot] =
      typeof value === 'string' && value.length > MAX_KEY_LENGTH
        ? value.slice(0, MAX_KEY_LENGTH) + '…'
        : value;
    this.#size++;
    return false;
  }

  #freeSlot(table: Float64Array, lo: number): number {
    let slot = lo & this.#mask;
    while (table[slot << 2] !== 0) slot = (slot + 1) & this.#mask;
    return slot;
  }

  /** Subtracts the (k+1)-th largest count from all entries and rebuilds the table. */
  #prune(): void {
    if (this.#size <= this.k) return;
    const live = (this.#scratch ??= new Float64Array(this.#limit + 1));
    const table = this.#table;
    const values = this.#values;
    let n = 0;
    let max = 0;
    for (let at = 0; at < table.length; at += 4) {
      const c = table[at];
      if (c === 0) continue;
      live[n++] = c;
      if (c > max) max = c;
    }
    const cut = select(live, n, n - 1 - this.k);
    this.#error += cut;
    this.#size = 0;
    if (cut >= max) {
      // Nothing survives (a stream of distinct values): emptying beats rebuilding.
      table.fill(0);
      values.fill(undefined);
      return;
    }
    const into = (this.#spareTable ??= new Float64Array(table.length));
    const intoValues = (this.#spareValues ??= new Array<FrequentKey | undefined>(
      values.length,
    ).fill(undefined));
    for (let at = 0; at < table.length; at += 4) {
      const c = table[at] - cut;
      if (table[at] === 0 || c <= 0) continue;
      const lo = table[at + 2];
      const slot = this.#freeSlot(into, lo);
      into[slot << 2] = c;
      into[(slot << 2) + 1] = table[at + 1];
      into[(slot << 2) + 2] = lo;
      intoValues[slot] = values[at >> 2];
      this.#size++;
    }
    // Only counts mark occupancy, but hashes are cleared too: a stale one costs nothing
    // and a zeroed table is easier to reason about.
    table.fill(0);
    values.fill(undefined);
    this.#table = into;
    this.#values = intoValues;
    this.#spareTable = table;
    this.#spareValues = values;
  }

  #entries(): Array<[FrequentKey, number, number, number]> {
    const entries: Array<[FrequentKey, number, number, number]> = [];
    const table = this.#table;
    for (let at = 0; at < table.length; at += 4) {
      if (table[at] !== 0)
        entries.push([this.#values[at >> 2]!, table[at], table[at + 1], table[at + 2]]);
    }
    return entries;
  }

  /** Adds `other`'s counters (error bounds add up); prunes like add() does. */
  merge(other: MisraGries): this {
    const total = this.#total;
    for (const [value, count, hi, lo] of other.#entries()) this.addHashed(hi, lo, value, count);
    this.#total = total + other.#total;
    this.#error += other.#error;
    return this;
  }

  /**
   * The `n` values with the highest counts, most frequent first. Once anything has been
   * subtracted, only values whose lower bound exceeds the error are reported: the
   * others may be noise left over from the last pruning.
   */
  top(n = 10): Array<{ value: FrequentKey; count: number; error: number }> {
    return this.#entries()
      .filter(([, count]) => this.#error === 0 || count > this.#error)
      .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
      .slice(0, n)
      .map(([value, count]) => ({ value, count, error: this.#error }));
  }

  /** The count of the most frequent value (a lower bound), 0 when empty. */
  maxCount(): number {
    let max = 0;
    const table = this.#table;
    for (let at = 0; at < table.length; at += 4) if (table[at] > max) max = table[at];
    return max;
  }

  toJSON(): MisraGriesJson {
    return { k: this.k, error: this.#error, total: this.#total, entries: this.#entries() };
  }

  static fromJSON(json: MisraGriesJson): MisraGries {
    const mg = new MisraGries(json.k);
    for (const [value, count, hi, lo] of json.entries) mg.addHashed(hi, lo, value, count);
    mg.#total = json.total;
    mg.#error = json.error;
    return mg;
  }
}

/** The value of rank `rank` (0-based, ascending) among `a[0..n)`, by quickselect (reorders `a`). */
function select(a: Float64Array, n: number, rank: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else return a[rank];
  }
  return a[rank];
}
