import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HyperLogLog } from './hyper-log-log.js';

/** `n` distinct values of a kind chosen by the seed, so runs cover strings, integers and floats. */
function fill(hll: HyperLogLog, n: number, seed: number, from = 0): void {
  const kind = seed % 3;
  for (let i = from; i < from + n; i++) {
    if (kind === 0) hll.add(`s${seed}-${i}`);
    else if (kind === 1) hll.add(seed * 10_000_000 + i);
    else hll.add((seed + 1) * 1e6 + i * 0.001);
  }
}

describe('HyperLogLog', () => {
  it('is exact while small and says so', () => {
    const hll = new HyperLogLog(16);
    for (let i = 0; i < 3000; i++) hll.add(i % 1500);
    expect(hll.exact).toBe(true);
    expect(hll.estimate()).toBe(1500);
    expect(hll.relativeError).toBe(0);
  });

  it('tells 1, "1" and true apart, and ignores null', () => {
    const hll = new HyperLogLog();
    for (const v of [1, '1', true, null, undefined, 1, '1']) hll.add(v);
    expect(hll.estimate()).toBe(3);
  });

  it('turns dense past m/16 and states 1.04/sqrt(m)', () => {
    const hll = new HyperLogLog(12);
    fill(hll, 10_000, 7);
    expect(hll.exact).toBe(false);
    expect(hll.relativeError).toBeCloseTo(1.04 / 64, 10);
  });

  it('keeps its error within the stated bound over many seeds (p = 12, n from 1k to 200k)', () => {
    const p = 12;
    const bound = 1.04 / Math.sqrt(1 << p);
    const errors: number[] = [];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1_000, max: 200_000 }),
        (seed, n) => {
          const hll = new HyperLogLog(p);
          fill(hll, n, seed);
          const error = (hll.estimate() - n) / n;
          errors.push(error);
          // A single run may exceed one standard error; four is a 1-in-15,000 event.
          return Math.abs(error) < 4 * bound;
        },
      ),
      { numRuns: 60, seed: 20261127 },
    );
    const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
    const mean = errors.reduce((a, e) => a + e, 0) / errors.length;
    // The stated bound is the standard error: the RMS over runs estimates it (with
    // sampling noise of ~1/sqrt(2*60) ≈ 9 %), and the estimator is unbiased.
    expect(rms).toBeLessThan(bound * 1.3);
    expect(Math.abs(mean)).toBeLessThan(bound);
  });

  it('stays within 3 standard errors at the default precision for large counts', () => {
    const hll = new HyperLogLog(16);
    fill(hll, 500_000, 4);
    expect(Math.abs(hll.estimate() / 500_000 - 1)).toBeLessThan(3 * hll.relativeError);
  });

  it('merges register-wise: merge(A, B) equals A then B, in every mode', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.nat(),
        (na, nb, seed) => {
          const a = new HyperLogLog(12);
          const b = new HyperLogLog(12);
          const both = new HyperLogLog(12);
          fill(a, na, seed);
          fill(b, nb, seed, na / 2);
          fill(both, na, seed);
          fill(both, nb, seed, na / 2);
          a.merge(b);
          expect(a.exact).toBe(both.exact);
          expect(a.estimate()).toBe(both.estimate());
          if (!a.exact) expect(a.toJSON()).toEqual(both.toJSON());
        },
      ),
      { numRuns: 25, seed: 7 },
    );
  });

  it('round-trips through JSON in exact and dense mode', () => {
    for (const n of [10, 50_000]) {
      const hll = new HyperLogLog(14);
      fill(hll, n, 3);
      const copy = HyperLogLog.fromJSON(JSON.parse(JSON.stringify(hll.toJSON())));
      expect(copy.estimate()).toBe(hll.estimate());
      expect(copy.exact).toBe(hll.exact);
    }
  });

  it('refuses to merge different precisions', () => {
    expect(() => new HyperLogLog(12).merge(new HyperLogLog(14))).toThrow(/p=14/);
  });
});

describe('HyperLogLog reads', () => {
  it('give the same state whenever they come: pending hashes are applied before any read', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, readsAt, seed) => {
          const quiet = new HyperLogLog(8);
          const read = new HyperLogLog(8);
          const merged = new HyperLogLog(8);
          for (let i = 0; i < n; i++) {
            const value = `v${seed}-${i % 2000}`;
            quiet.add(value);
            read.add(value);
            if (readsAt.includes(i)) {
              read.estimate();
              merged.merge(HyperLogLog.fromJSON(read.toJSON()));
            }
          }
          expect(read.toJSON()).toEqual(quiet.toJSON());
          expect(read.estimate()).toBe(quiet.estimate());
          expect(merged.merge(read).toJSON()).toEqual(quiet.toJSON());
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });
});
