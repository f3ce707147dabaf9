import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedPolicy } from './fixed-policy.js';
import type { KeepAlivePolicy } from './keep-alive-policy.js';
import { parsePolicies, parsePolicy } from './parse-policy.js';
import { simulate, type PolicyReport } from './simulate.js';
import { traceOf, truncateTrace } from './trace/trace-fixture.js';

/** A policy choosing the same window every time (for hand-computed traces). */
function always(pre: number, ka: number): KeepAlivePolicy {
  return {
    spec: `always:${pre},${ka}`,
    needsReference: false,
    unit: () => ({ afterInvocation: () => ({ pre, ka, reason: '' }) }),
  };
}

/**
 * A dense reference interpreter of the trace semantics: a loaded flag per minute, one
 * window per function, written as plainly as the specification reads.
 */
function reference(rows: number[][], mem: number[], policy: KeepAlivePolicy, until: number) {
  let cold = 0;
  let wasted = 0;
  let invocations = 0;
  rows.forEach((row, f) => {
    const unit = policy.unit({ key: `f${f}`, memoryMb: mem[f] });
    let window: [number, number] = [Infinity, -Infinity];
    row.forEach((c, t) => {
      const loaded = window[0] <= t && t <= window[1];
      if (c > 0) {
        if (t < until) invocations += c;
        if (!loaded && t < until) cold++;
        const d = unit.afterInvocation(t, c, {
          minute: t,
          wastedMbMinutes: 0,
          outstandingMbMinutes: 0,
          referenceWastedMbMinutes: 0,
        });
        window = [t + d.pre + 1, t + d.pre + d.ka];
      } else if (loaded && t < until) wasted += mem[f];
    });
  });
  return { cold, wasted, invocations };
}

describe('simulate', () => {
  it('follows the window rule: the latest invocation replaces the window', () => {
    // fixed:3, invocations at 0, 2, 7: cold at 0; window 1–3; 2 is warm and moves it to 3–5;
    // minute 1 and 3–5 are loaded and idle; 6 unloaded; 7 cold.
    const trace = traceOf([[1, 0, 4, 0, 0, 0, 0, 2, 0]], [100]);
    const [r] = simulate(trace, [fixedPolicy(3)]);
    expect(r).toMatchObject({ invocations: 7, cold_starts: 2 });
    // Minute 7's window 8–10: minute 8 is in the trace and idle.
    expect(r.wasted_mb_minutes).toBe(100 * (1 + 3 + 1));
    // --until 4 counts minutes 0..3 only: cold at 0, idle loaded minutes 1 and 3.
    const [u] = simulate(trace, [fixedPolicy(3)], { until: 4 });
    expect(u).toMatchObject({ invocations: 5, cold_starts: 1, wasted_mb_minutes: 200 });
  });

  it('pre-warms after pre minutes and loses the window to an earlier invocation', () => {
    // Window (2, 2): after 0 loaded 3–4. Invoked at 1: unloaded → cold; new window 4–5.
    // Invoked at 5: warm; window 8–9; minute 8 idle, 9 invoked (warm).
    const trace = traceOf([[1, 1, 0, 0, 0, 1, 0, 0, 0, 1]], [10]);
    const [r] = simulate(trace, [always(2, 2)]);
    expect(r.cold_starts).toBe(2);
    // Idle loaded minutes: 4 (window 4–5, invoked at 5), 8, and after 9: 12–13 is past the end.
    expect(r.wasted_mb_minutes).toBe(10 * 2);
  });

  it('reports the 75th percentile of per-function cold-start percentages by nearest rank', () => {
    // fixed:1. f0 every minute: 1 cold of 4 minutes (25 %). f1 every other minute: 3 of 3 (100 %).
    // f2 once: 100 %. f3: minutes 0,1 then 3: 2 of 3 (66.7 %). Sorted 25, 66.7, 100, 100;
    // rank ⌈0.75·4⌉ = 3 → 100.
    const trace = traceOf(
      [
        [1, 1, 1, 1, 0],
        [1, 0, 1, 0, 1],
        [0, 0, 1, 0, 0],
        [1, 1, 0, 1, 0],
      ],
      [1, 2, 3, 4],
    );
    const [r] = simulate(trace, [fixedPolicy(1)]);
    expect(r.p75).toBe(100);
    expect(r.cold_starts).toBe(1 + 3 + 1 + 2);
    const [five] = simulate(
      traceOf(
        [
          [1, 1, 1, 1, 0],
          [1, 1, 0, 1, 1],
          [1, 0, 0, 0, 0],
          [1, 1, 1, 1, 1],
          [1, 1, 1, 0, 0],
        ],
        [1, 1, 1, 1, 1],
      ),
      [fixedPolicy(1)],
    );
    // 25, 50, 100, 20, 33.3 → sorted 20, 25, 33.3, 50, 100; rank ⌈3.75⌉ = 4 → 50.
    expect(five.p75).toBe(50);
  });

  it('compares wasted memory with fixed:10 and prices the outcome', () => {
    const trace = traceOf([[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]], [100]);
    const [f10, f5] = simulate(trace, parsePolicies('fixed:10,fixed:5'));
    expect(f10.wasted_vs_fixed10).toBe(1);
    expect(f5.wasted_vs_fixed10).toBe(0.5);
    expect(f5.cost).toBeGreaterThan(0);
    expect(f10.cold_starts).toBe(2);
  });

  const rowsArb = fc.integer({ min: 1, max: 60 }).chain((T) =>
    fc.array(
      fc.array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
        ),
        {
          minLength: T,
          maxLength: T,
        },
      ),
      { minLength: 1, maxLength: 5 },
    ),
  );

  // warmflow shares priors between units, so its decisions depend on the order units are
  // stepped in: the reference (function by function) only fits per-unit policies.
  it('agrees with a dense reference interpreter (fixed, hybrid)', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 0, max: 70 }), (rows, until) => {
        const mem = rows.map((_, i) => 10 * (i + 1));
        for (const spec of ['fixed:1', 'fixed:10', 'fixed:3', 'hybrid']) {
          const [r] = simulate(traceOf(rows, mem), [parsePolicy(spec)], { until });
          const ref = reference(rows, mem, parsePolicy(spec), until);
          expect({
            spec,
            cold: r.cold_starts,
            wasted: r.wasted_mb_minutes,
            inv: r.invocations,
          }).toEqual({
            spec,
            cold: ref.cold,
            wasted: ref.wasted,
            inv: ref.invocations,
          });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is causal: results for minutes < N do not depend on later minutes', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 0, max: 60 }), (rows, n) => {
        const trace = traceOf(
          rows,
          rows.map((_, i) => 7 + 13 * i),
        );
        const specs = 'fixed:10,hybrid,warmflow,warmflow:1,warmflow:0.5';
        const full = simulate(trace, parsePolicies(specs), { until: n });
        const cut = simulate(truncateTrace(trace, n), parsePolicies(specs));
        expect(full).toEqual(cut);
      }),
      { numRuns: 150 },
    );
  });

  it('fixed:K has fewer cold starts and more waste as K grows', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 1, max: 30 }), (rows, k) => {
        const trace = traceOf(
          rows,
          rows.map(() => 50),
        );
        const [a, b]: PolicyReport[] = simulate(trace, [fixedPolicy(k), fixedPolicy(k + 1)]);
        expect(b.cold_starts).toBeLessThanOrEqual(a.cold_starts);
        expect(b.wasted_mb_minutes).toBeGreaterThanOrEqual(a.wasted_mb_minutes);
      }),
      { numRuns: 200 },
    );
  });
});
