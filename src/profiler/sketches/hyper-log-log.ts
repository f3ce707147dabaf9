import { HASH, hashValue } from './hash64.js';

/** Serialised form of a {@link HyperLogLog}, for shipping between processes. */
export interface HyperLogLogJson {
  p: number;
  /** Exact mode: the 64-bit hashes seen, as `[hi, lo, hi, lo, ...]` signed 32-bit ints. */
  exact?: number[];
  /** Dense mode: the registers, base64. */
  registers?: string;
}

/** Hashes a dense sketch holds before applying them to its registers (8 bytes each). */
const PENDING = 256;

/**
 * A HyperLogLog distinct counter over 64-bit hashes (Flajolet et al. 2007) with
 * Ertl's improved estimator (2017), which is unbiased over the whole range without
 * HLL++'s empirical bias tables.
 *
 * While the count is small the sketch is exact: it keeps the hashes themselves in an
 * open-addressing table (no per-value allocation) and counts them; past `m / 16`
 * distinct hashes, where the table would weigh as much as the registers, it turns
 * into `m = 2^p` one-byte registers. Standard error once dense: `1.04 / sqrt(m)`
 * (0.41 % at the default p = 16). Merging takes the register-wise maximum, so a merge
 * is identical to having added both inputs to one sketch.
 *
 * ```ts
 * const hll = new HyperLogLog();
 * for (const id of ids) hll.add(id);
 * hll.estimate(); // ≈ number of distinct ids
 * ```
 */
export class HyperLogLog {
  readonly p: number;
  readonly m: number;
  #registers: Uint8Array | undefined;
  #table: Int32Array | undefined = new Int32Array(32);
  #size = 0;
  #hasZero = false;
  readonly #maxExact: number;
  /**
   * Once dense, hashes added and not yet applied to the registers, as `[hi, lo, ...]`
   * (`#pendingLength` numbers of it), applied {@link PENDING} at a time and before any
   * read of the registers. A register takes the maximum of the ranks it is given, so
   * when they are applied does not change them. Applied together, the register reads
   * (random over `m` bytes, mostly cache misses while a parser fills the caches between
   * two values) overlap instead of each waiting on its own.
   */
  #pending: Int32Array | undefined;
  #pendingLength = 0;

  constructor(precision = 16) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 18) {
      throw new RangeError(`HyperLogLog precision must be an integer in [4, 18], got ${precision}`);
    }
    this.p = precision;
    this.m = 1 << precision;
    this.#maxExact = Math.max(16, this.m >>> 4);
  }

  /** True while the count is exact (no register has been built yet). */
  get exact(): boolean {
    return this.#registers === undefined;
  }

  /** The stated relative standard error: 0 while exact, `1.04 / sqrt(m)` once dense. */
  get relativeError(): number {
    return this.exact ? 0 : 1.04 / Math.sqrt(this.m);
  }

  /** Adds a scalar value (hashed by {@link hashValue}); null and undefined are ignored. */
  add(value: unknown): void {
    if (hashValue(value)) this.addHash(HASH[0], HASH[1]);
  }

  /** Adds a precomputed 64-bit hash given as two signed or unsigned 32-bit lanes. */
  addHash(hi: number, lo: number): void {
    const pending = this.#pending;
    if (pending !== undefined) {
      const at = this.#pendingLength;
      pending[at] = hi;
      pending[at + 1] = lo;
      this.#pendingLength = at + 2;
      if (at + 2 === pending.length) this.#applyPending();
      return;
    }
    this.#insertExact(hi | 0, lo | 0);
  }

  /** Applies the pending hashes to the registers. */
  #applyPending(): void {
    const pending = this.#pending!;
    const n = this.#pendingLength;
    this.#pendingLength = 0;
    const registers = this.#registers!;
    const p = this.p;
    for (let i = 0; i < n; i += 2) {
      const hi = pending[i];
      const w = hi << p;
      const rank = w !== 0 ? Math.clz32(w) + 1 : 32 - p + Math.clz32(pending[i + 1]) + 1;
      const idx = hi >>> (32 - p);
      if (rank > registers[idx]) registers[idx] = rank;
    }
  }

  /** The registers with every pending hash applied (undefined while exact). */
  #dense(): Uint8Array | undefined {
    if (this.#pendingLength !== 0) this.#applyPending();
    return this.#registers;
  }

  #insertExact(hi: number, lo: number): void {
    if (hi === 0 && lo === 0) {
      if (!this.#hasZero) {
        this.#hasZero = true;
        this.#size++;
        this.#maybeGrow();
      }
      return;
    }
    const table = this.#table!;
    const mask = (table.length >>> 1) - 1;
    let slot = (lo ^ (hi >>> 7)) & mask;
    for (;;) {
      const h = table[slot << 1];
      const l = table[(slot << 1) | 1];
      if (h === 0 && l === 0) {
        table[slot << 1] = hi;
        table[(slot << 1) | 1] = lo;
        this.#size++;
        this.#maybeGrow();
        return;
      }
      if (h === hi && l === lo) return;
      slot = (slot + 1) & mask;
    }
  }

  #maybeGrow(): void {
    if (this.#size > this.#maxExact) {
      this.#toDense();
      return;
    }
    const table = this.#table!;
    // Keep the load under one half so probes stay short.
    if (this.#size * 4 <= table.length) return;
    this.#table = new Int32Array(table.length * 2);
    const hadZero = this.#hasZero;
    this.#size = hadZero ? 1 : 0;
    for (let i = 0; i < table.length; i += 2) {
      if (table[i] !== 0 || table[i + 1] !== 0) this.#insertExact(table[i], table[i + 1]);
    }
  }

  #toDense(): void {
    const table = this.#table!;
    this.#registers = new Uint8Array(this.m);
    this.#pending = new Int32Array(2 * PENDING);
    this.#table = undefined;
    if (this.#hasZero) this.addHash(0, 0);
    for (let i = 0; i < table.length; i += 2) {
      if (table[i] !== 0 || table[i + 1] !== 0) this.addHash(table[i], table[i + 1]);
    }
  }

  /** The distinct-count estimate (exact while {@link exact}). */
  estimate(): number {
    const registers = this.#dense();
    if (registers === undefined) return this.#size;
    const q = 64 - this.p;
    const counts = new Float64Array(q + 2);
    for (let i = 0; i < registers.length; i++) counts[registers[i]]++;
    const m = this.m;
    let z = m * tau(1 - counts[q + 1] / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + counts[k]);
    z += m * sigma(counts[0] / m);
    return (m * m) / (2 * Math.LN2 * z);
  }

  /** Folds `other` in (register-wise maximum); both must have the same precision. */
  merge(other: HyperLogLog): this {
    if (other.p !== this.p)
      throw new RangeError(`cannot merge HyperLogLog p=${other.p} into p=${this.p}`);
    const theirs = other.#dense();
    if (theirs === undefined) {
      other.#forEachExact((hi, lo) => this.addHash(hi, lo));
      return this;
    }
    if (this.#registers === undefined) this.#toDense();
    const mine = this.#dense()!;
    for (let i = 0; i < mine.length; i++) if (theirs[i] > mine[i]) mine[i] = theirs[i]!;
    return this;
  }

  #forEachExact(fn: (hi: number, lo: number) => void): void {
    if (this.#hasZero) fn(0, 0);
    const table = this.#table!;
    for (let i = 0; i < table.length; i += 2) {
      if (table[i] !== 0 || table[i + 1] !== 0) fn(table[i], table[i + 1]);
    }
  }

  /** A JSON-safe copy of the whole state. */
  toJSON(): HyperLogLogJson {
    const registers = this.#dense();
    if (registers !== undefined) {
      return { p: this.p, registers: Buffer.from(registers).toString('base64') };
    }
    const exact: number[] = [];
    this.#forEachExact((hi, lo) => exact.push(hi, lo));
    return { p: this.p, exact };
  }

  /** Rebuilds a sketch from {@link toJSON}'s output. */
  static fromJSON(json: HyperLogLogJson): HyperLogLog {
    const hll = new HyperLogLog(json.p);
    if (json.registers !== undefined) {
      const bytes = Buffer.from(json.registers, 'base64');
      if (bytes.length !== hll.m)
        throw new RangeError(`HyperLogLog registers: expected ${hll.m} bytes, got ${bytes.length}`);
      hll.#registers = new Uint8Array(bytes);
      hll.#pending = new Int32Array(2 * PENDING);
      hll.#table = undefined;
      return hll;
    }
    const exact = json.exact ?? [];
    for (let i = 0; i + 1 < exact.length; i += 2) hll.addHash(exact[i], exact[i + 1]);
    return hll;
  }
}

/** Ertl's σ(x) = x + Σ x^(2^k) 2^(k-1), for the share of zero registers. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

/** Ertl's τ(x), for the share of saturated registers. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === previous) return z / 3;
  }
}
