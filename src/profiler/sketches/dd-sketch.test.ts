import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DDSketch } from './dd-sketch.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

/** DDSketch's guarantee: the answer is within alpha (relative) of a value at that rank. */
function expectWithin(sketch: DDSketch, values: number[], alpha: number): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QS) {
    const truth = exactQuantile(sorted, q);
    const got = sketch.quantile(q);
    expect(Math.abs(got - truth)).toBeLessThanOrEqual(alpha * Math.abs(truth) + 1e-9);
  }
}

const mixed = fc.array(
  fc.oneof(
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constant(0),
  ),
  { minLength: 1, maxLength: 400 },
);

describe('DDSketch', () => {
  it('answers every quantile within its relative accuracy, negatives and zero included', () => {
    fc.assert(
      fc.property(mixed, (values) => {
        const sketch = new DDSketch(0.01);
        for (const v of values) sketch.add(v);
        expectWithin(sketch, values, 0.01);
      }),
      { numRuns: 200, seed: 1 },
    );
  });

  it('merges negatives correctly: merge(A, B) equals the sketch of A then B (the sketches-js bug)', () => {
    fc.assert(
      fc.property(mixed, mixed, (a, b) => {
        const sa = new DDSketch();
        const sb = new DDSketch();
        const sab = new DDSketch();
        for (const v of a) {
          sa.add(v);
          sab.add(v);
        }
        for (const v of b) {
          sb.add(v);
          sab.add(v);
        }
        sa.merge(sb);
        expect(sa.toJSON()).toEqual(sab.toJSON());
        expectWithin(sa, [...a, ...b], 0.01);
      }),
      { numRuns: 150, seed: 2 },
    );
  });

  it('merges two all-negative sketches into the right order', () => {
    const a = new DDSketch();
    const b = new DDSketch();
    for (let i = 1; i <= 100; i++) a.add(-i);
    for (let i = 101; i <= 200; i++) b.add(-i);
    a.merge(b);
    expect(a.quantile(0)).toBeCloseTo(-200, -1);
    expect(a.quantile(1)).toBeCloseTo(-1, 1);
    expect(Math.abs(a.quantile(0.5) + 100.5)).toBeLessThan(2.1);
  });

  it('keeps memory bounded by collapsing the smallest magnitudes', () => {
    const sketch = new DDSketch(0.01, 128);
    for (let e = -300; e <= 300; e++) sketch.add(10 ** e);
    const json = sketch.toJSON();
    expect(json.positive.counts.length).toBeLessThanOrEqual(128);
    expect(sketch.count).toBe(601);
    // The largest values keep their accuracy.
    expect(sketch.quantile(1) / 1e300).toBeCloseTo(1, 1);
  });

  it('round-trips through JSON', () => {
    const sketch = new DDSketch();
    for (let i = -500; i < 500; i++) sketch.add(i * 1.5);
    const copy = DDSketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON())));
    for (const q of QS) expect(copy.quantile(q)).toBe(sketch.quantile(q));
  });
});
