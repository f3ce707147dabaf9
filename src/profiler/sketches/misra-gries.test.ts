import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MisraGries } from './misra-gries.js';

/** A skewed stream: small integers and short strings, some very frequent. */
const stream = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 5 }),
    fc.integer({ min: 0, max: 400 }),
    fc.constantFrom('a', 'b', 'zz'),
  ),
  {
    maxLength: 2000,
  },
);

function truth(values: Array<string | number>): Map<string | number, number> {
  const counts = new Map<string | number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Misra-Gries' guarantees, checked against exact counts. */
function checkGuarantees(mg: MisraGries, values: Array<string | number>): void {
  const exact = truth(values);
  const reported = new Map(mg.toJSON().entries.map(([v, c]) => [v, c]));
  expect(mg.error).toBeLessThanOrEqual(values.length / (mg.k + 1));
  for (const [value, count] of exact) {
    const kept = reported.get(value) ?? 0;
    expect(kept).toBeLessThanOrEqual(count);
    expect(count).toBeLessThanOrEqual(kept + mg.error);
    if (count > values.length / (mg.k + 1)) expect(reported.has(value)).toBe(true);
  }
}

describe('MisraGries', () => {
  it('keeps every value above n/(k+1), with count <= true <= count + error', () => {
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 20 }), (values, k) => {
        const mg = new MisraGries(k);
        for (const v of values) mg.add(v);
        checkGuarantees(mg, values);
      }),
      { numRuns: 200, seed: 3 },
    );
  });

  it('keeps the guarantees after merging, and is exact while the values fit', () => {
    fc.assert(
      fc.property(stream, stream, fc.integer({ min: 1, max: 20 }), (a, b, k) => {
        const ma = new MisraGries(k);
        const mb = new MisraGries(k);
        for (const v of a) ma.add(v);
        for (const v of b) mb.add(v);
        ma.merge(mb);
        checkGuarantees(ma, [...a, ...b]);
        expect(ma.total).toBe(a.length + b.length);
      }),
      { numRuns: 200, seed: 4 },
    );
    const a = new MisraGries(8);
    for (const v of [1, 1, 2, 'x']) a.add(v);
    const b = new MisraGries(8);
    for (const v of [1, 'x', 'y']) b.add(v);
    a.merge(b);
    expect(a.top(3)).toEqual([
      { value: 1, count: 3, error: 0 },
      { value: 'x', count: 2, error: 0 },
      { value: 2, count: 1, error: 0 },
    ]);
  });

  it('tells 1 and "1" apart and reports only values above the error once pruned', () => {
    const mg = new MisraGries(2);
    for (let i = 0; i < 100; i++) mg.add('hot');
    for (let i = 0; i < 100; i++) mg.add(i);
    mg.add(1);
    mg.add('1');
    const top = mg.top(10);
    expect(top[0]).toMatchObject({ value: 'hot' });
    for (const entry of top) expect(entry.count).toBeGreaterThan(entry.error);
  });

  it('round-trips through JSON', () => {
    const mg = new MisraGries(4);
    for (let i = 0; i < 1000; i++) mg.add(i % 7 === 0 ? 'seven' : i % 13);
    const copy = MisraGries.fromJSON(JSON.parse(JSON.stringify(mg.toJSON())));
    expect(copy.top(5)).toEqual(mg.top(5));
    expect(copy.error).toBe(mg.error);
  });
});

/**
 * Misra-Gries as defined (Agarwal et al.'s mergeable summary), written plainly: a map
 * of counters; an add that finds `2k` of them subtracts the (k+1)-th largest count from
 * each and drops those that reach zero. The summary's hash table, generations and
 * shortcuts must give exactly this.
 */
class ReferenceMisraGries {
  readonly counts = new Map<string | number, number>();
  error = 0;
  total = 0;
  constructor(readonly k: number) {}

  add(value: string | number, weight: number): void {
    this.total += weight;
    const held = this.counts.get(value);
    if (held !== undefined) {
      this.counts.set(value, held + weight);
      return;
    }
    if (this.counts.size >= 2 * this.k) {
      const sorted = [...this.counts.values()].sort((a, b) => b - a);
      const cut = sorted[this.k];
      this.error += cut;
      for (const [v, c] of this.counts) {
        if (c - cut > 0) this.counts.set(v, c - cut);
        else this.counts.delete(v);
      }
    }
    this.counts.set(value, weight);
  }
}

describe('MisraGries against its definition', () => {
  const weighted = fc.array(
    fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constantFrom('a', 'b', 'c', 'd')),
      fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 1, max: 9 })),
    ),
    { maxLength: 1500 },
  );

  it('holds the same counters, error and total, with weights and runs of distinct values', () => {
    fc.assert(
      fc.property(weighted, fc.integer({ min: 1, max: 12 }), (adds, k) => {
        const mg = new MisraGries(k);
        const reference = new ReferenceMisraGries(k);
        for (const [value, weight] of adds) {
          mg.add(value, weight);
          reference.add(value, weight);
        }
        const held = new Map(mg.toJSON().entries.map(([v, c]) => [v, c]));
        expect(held).toEqual(reference.counts);
        expect(mg.error).toBe(reference.error);
        expect(mg.total).toBe(reference.total);
        expect(mg.maxCount()).toBe(Math.max(0, ...reference.counts.values()));
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('refuses a weight that is not positive', () => {
    const mg = new MisraGries(4);
    expect(() => mg.add('x', 0)).toThrow(RangeError);
    expect(() => mg.add('x', -1)).toThrow(RangeError);
    expect(() => mg.add('x', Number.NaN)).toThrow(RangeError);
  });
});
