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
 * A pruning that drops everything (a run of distinct values, the usual case for ids,
 * floats and timestamps) costs O(1): slots carry the generation that wrote them, and
 * emptying the table starts a new generation instead of clearing it.
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
   * The table, one slot per 4 numbers: count, hash hi, hash lo, generation. A slot is
   * in use when its generation is the current one ({@link #gen}); any other slot is
   * free, whatever it still holds. A probe reads one slot, so it touches one cache line
   * instead of one per array: the profiler's tables are usually out of cache, evicted
   * by the records being parsed, and a miss per array was most of a lookup's cost.
   */
  #table: Float64Array;
  /** The value of each slot; meaningful only for slots in use. */
  #values: Array<FrequentKey | undefined>;
  /**
   * The slots in use, in the order their entries came in (`#size` of them): a pruning
   * reads these instead of scanning the whole table, whose half-empty slots made every
   * step of a scan a branch the processor could not predict.
   */
  #slots: Int32Array;
  /** The table and slot list prune() rebuilds into, kept to avoid allocating on every pruning. */
  #spareTable: Float64Array | undefined;
  #spareSlots: Int32Array | undefined;
  #scratch: Float64Array | undefined;
  /** The current generation; slots written under an earlier one are free. Starts at 1 (a new table is all 0). */
  #gen = 1;
  /**
   * 0 only while every entry's count is exactly 1 (each came in with weight 1 and was
   * never incremented): a pruning then drops everything without looking at the counts.
   */
  #notOne = 0;
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
    this.#values = this.#newValues();
    this.#slots = new Int32Array(this.#limit);
  }

  /** Total weight added. */
  get total(): number {
    return this.#total;
  }

  /** Upper bound on how much any count was undercounted. */
  get error(): number {
    return this.#error;
  }

  /** Adds a value, hashing it first; `weight` must be positive. */
  add(value: FrequentKey, weight = 1): void {
    hashValue(value);
    this.addHashed(HASH[0], HASH[1], value, weight);
  }

  /**
   * Adds a value whose 64-bit hash (`hashValue`'s) is already known; `weight` must be
   * positive. Returns true when the hash was already held: a caller that feeds every
   * hash to a distinct counter too can skip that counter then, since it has seen this
   * hash before.
   */
  addHashed(hi: number, lo: number, value: FrequentKey, weight = 1): boolean {
    if (!(weight > 0)) throw new RangeError(`MisraGries weight must be positive, got ${weight}`);
    this.#total += weight;
    const table = this.#table;
    const mask = this.#mask;
    const gen = this.#gen;
    let slot = lo & mask;
    for (;;) {
      const at = slot << 2;
      if (table[at + 3] !== gen) break;
      if (table[at + 1] === hi && table[at + 2] === lo) {
        table[at] += weight;
        this.#notOne++;
        return true;
      }
      slot = (slot + 1) & mask;
    }
    if (this.#size >= this.#limit) {
      this.#prune();
      slot = this.#freeSlot(this.#table, lo);
    }
    // Not `table` and `gen`: a pruning swapped the table and started a generation.
    const into = this.#table;
    const at = slot << 2;
    into[at] = weight;
    into[at + 1] = hi;
    into[at + 2] = lo;
    into[at + 3] = this.#gen;
    if (weight !== 1) this.#notOne++;
    this.#values[slot] =
      typeof value === 'string' && value.length > MAX_KEY_LENGTH
        ? value.slice(0, MAX_KEY_LENGTH) + '…'
        : value;
    this.#slots[this.#size++] = slot;
    return false;
  }

  /** The first free slot of `lo`'s probe sequence in `table` under generation `gen`. */
  #freeSlot(table: Float64Array, lo: number, gen = this.#gen): number {
    let slot = lo & this.#mask;
    while (table[(slot << 2) + 3] === gen) slot = (slot + 1) & this.#mask;
    return slot;
  }

  /** Drops every entry: a new generation frees every slot. */
  #empty(): void {
    this.#size = 0;
    this.#gen++;
    this.#values = this.#newValues();
  }

  /**
   * A new array for the values, at each pruning: the values stored next are mostly
   * strings the parser has just made, and storing one into an array that has lived
   * through a garbage collection costs an entry in the collector's remembered set,
   * which storing it into a new array does not. Cheaper than reusing one array.
   */
  #newValues(): Array<FrequentKey | undefined> {
    return new Array<FrequentKey | undefined>(this.#mask + 1).fill(undefined);
  }

  /**
   * Subtracts the (k+1)-th largest count from all entries and rebuilds the table. The
   * survivors go into the spare table in the order of their slots, so the table comes
   * out as it would from re-inserting them in a scan of the old one.
   */
  #prune(): void {
    const size = this.#size;
    if (size <= this.k) return;
    if (this.#notOne === 0) {
      // Every count is 1, so the (k+1)-th largest is 1 and nothing survives.
      this.#error += 1;
      this.#empty();
      return;
    }
    const table = this.#table;
    const slots = this.#slots;
    // Counts are gathered for a selection only when one is needed: while at most k
    // entries count more than 1 and none less, the (k+1)-th largest count is 1.
    let over = 0;
    let under = 0;
    let max = 0;
    for (let j = 0; j < size; j++) {
      const c = table[slots[j] << 2];
      if (c > 1) over++;
      else if (c < 1) under++;
      if (c > max) max = c;
    }
    let cut = 1;
    if (over > this.k || under > 0) {
      const live = (this.#scratch ??= new Float64Array(this.#limit + 1));
      for (let j = 0; j < size; j++) live[j] = table[slots[j] << 2];
      cut = select(live, size, size - 1 - this.k);
    }
    this.#error += cut;
    this.#size = 0;
    this.#notOne = 0;
    if (cut >= max) {
      this.#empty();
      return;
    }
    // The survivors' slots, ascending (an insertion sort: they are few, at most k).
    const kept = (this.#spareSlots ??= new Int32Array(this.#limit));
    let n = 0;
    for (let j = 0; j < size; j++) {
      const slot = slots[j];
      if (table[slot << 2] - cut <= 0) continue;
      let i = n++;
      while (i > 0 && kept[i - 1] > slot) {
        kept[i] = kept[i - 1];
        i--;
      }
      kept[i] = slot;
    }
    // The spare table holds only earlier generations: every slot of it is free now.
    const values = this.#values;
    const into = (this.#spareTable ??= new Float64Array(table.length));
    const intoValues = this.#newValues();
    const next = this.#gen + 1;
    for (let j = 0; j < n; j++) {
      const from = kept[j] << 2;
      const c = table[from] - cut;
      const lo = table[from + 2];
      const slot = this.#freeSlot(into, lo, next);
      const at = slot << 2;
      into[at] = c;
      into[at + 1] = table[from + 1];
      into[at + 2] = lo;
      into[at + 3] = next;
      if (c !== 1) this.#notOne++;
      intoValues[slot] = values[kept[j]];
      // `kept` becomes the slot list: entry j is read before it is overwritten.
      kept[j] = slot;
    }
    this.#size = n;
    // The old table's slots all belong to an earlier generation now: it is the next spare.
    this.#gen = next;
    this.#table = into;
    this.#values = intoValues;
    this.#slots = kept;
    this.#spareTable = table;
    this.#spareSlots = slots;
  }

  #entries(): Array<[FrequentKey, number, number, number]> {
    const entries: Array<[FrequentKey, number, number, number]> = [];
    const table = this.#table;
    const gen = this.#gen;
    for (let at = 0; at < table.length; at += 4) {
      if (table[at + 3] === gen)
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
    for (let at = 0; at < table.length; at += 4)
      if (table[at + 3] === this.#gen && table[at] > max) max = table[at];
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
