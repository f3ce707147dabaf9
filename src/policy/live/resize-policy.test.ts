import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HoltForecast, ResizePolicy, type ResizeDecision } from './resize-policy.js';

/** Feeds one observation a second; returns the decisions with the second they came in. */
function replay(
  policy: ResizePolicy,
  rates: number[],
  lagOf: (second: number) => number = () => 0,
  carryOut = true,
): Array<{ second: number; decision: ResizeDecision }> {
  const out: Array<{ second: number; decision: ResizeDecision }> = [];
  rates.forEach((rate, second) => {
    const at = second * 1000;
    const decision = policy.observe({ at, records_per_second: rate, lag: lagOf(second) });
    if (decision === null) return;
    out.push({ second, decision });
    if (carryOut) policy.resized(decision.to_cores, at + 1000, 1000);
  });
  return out;
}

const steps = (parts: Array<[rate: number, seconds: number]>): number[] =>
  parts.flatMap(([rate, seconds]) => Array<number>(seconds).fill(rate));

describe('HoltForecast', () => {
  it('follows a linear ramp exactly once it has seen two points of it', () => {
    const holt = new HoltForecast(1, 1);
    for (const x of [10, 20, 30, 40]) holt.observe(x);
    expect(holt.forecast(0)).toBe(40);
    expect(holt.forecast(3)).toBe(70);
  });

  it('never forecasts a negative rate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 60, noNaN: true }),
        (values, steps) => {
          const holt = new HoltForecast(0.6, 0.3);
          for (const v of values) holt.observe(v);
          return holt.forecast(steps) >= 0;
        },
      ),
    );
  });
});

describe('ResizePolicy', () => {
  // 5 ms of CPU per record: 1 core carries 140 records/s at 70 %, 2 cores 280.
  const make = (tuning = {}) =>
    new ResizePolicy({ cpuUsPerRecord: 5000, cores: 1, tuning: { maxCores: 2, ...tuning } });

  it('grows within a few seconds of a step up to 4×, and shrinks after it falls back', () => {
    const policy = make();
    const decisions = replay(
      policy,
      steps([
        [50, 10],
        [200, 10],
        [50, 15],
      ]),
    );
    expect(decisions.map((d) => [d.decision.direction, d.decision.to_cores])).toEqual([
      ['grow', 2],
      ['shrink', 1],
    ]);
    const [grow, shrink] = decisions;
    // The step is at second 10: decided by its third second.
    expect(grow.second).toBeGreaterThanOrEqual(10);
    expect(grow.second).toBeLessThanOrEqual(12);
    expect(grow.decision.forecast_records_per_second).toBeGreaterThan(140);
    // The fall is at second 20: not before five seconds of it, and within the phase.
    expect(shrink.second).toBeGreaterThanOrEqual(24);
    expect(shrink.second).toBeLessThan(35);
    expect(policy.cores).toBe(1);
  });

  it('never resizes a steady rate, noisy by ±20 %', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.8, max: 1.2, noNaN: true }), {
          minLength: 10,
          maxLength: 120,
        }),
        (noise) =>
          replay(
            make(),
            noise.map((f) => 60 * f),
          ).length === 0,
      ),
    );
  });

  it('grows for a lag to work off even when the rate alone fits', () => {
    const policy = make({ drainSeconds: 10 });
    // 100 records/s fits one core; a lag of 1,000 adds 100/s to work off in 10 s.
    const decisions = replay(policy, steps([[100, 5]]), () => 1000);
    expect(decisions[0]?.decision).toMatchObject({ direction: 'grow', to_cores: 2, lag: 1000 });
  });

  it('does not flap: at most one resize per cooldown, and never past its bounds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 90 }),
        (rates) => {
          const policy = make({ maxCores: 3, cooldownSeconds: 5 });
          const decisions = replay(policy, rates);
          for (let i = 1; i < decisions.length; i++)
            if (decisions[i].second - decisions[i - 1].second < 6) return false;
          return decisions.every((d) => d.decision.to_cores >= 1 && d.decision.to_cores <= 3);
        },
      ),
    );
  });

  it('decides nothing while a resize is under way, and waits out the cooldown after a refusal', () => {
    const policy = make();
    const first = replay(policy, steps([[300, 5]]), () => 0, false);
    expect(first).toHaveLength(1);
    policy.refused(5000);
    expect(policy.observe({ at: 6000, records_per_second: 300, lag: 0 })).toBeNull();
    // Observations during the cooldown count: the first one after it decides.
    expect(policy.observe({ at: 10_500, records_per_second: 300, lag: 0 })).toMatchObject({
      direction: 'grow',
      to_cores: 2,
    });
  });

  it('leans to the size it would grow to one observation before it decides, and not while it carries a decision out', () => {
    const policy = make();
    expect(policy.observe({ at: 0, records_per_second: 50, lag: 0 })).toBeNull();
    expect(policy.leaning).toBeNull();
    // The first second above one core: no decision yet, but the size it needs is known.
    expect(policy.observe({ at: 1000, records_per_second: 300, lag: 0 })).toBeNull();
    expect(policy.leaning).toBe(2);
    // A noisy second: the lean goes with it.
    expect(policy.observe({ at: 2000, records_per_second: 20, lag: 0 })).toBeNull();
    expect(policy.leaning).toBeNull();
    for (const at of [3000, 4000, 5000]) {
      const decision = policy.observe({ at, records_per_second: 300, lag: 0 });
      if (decision !== null) {
        expect(decision).toMatchObject({ direction: 'grow', to_cores: 2 });
        expect(policy.leaning).toBeNull();
        return;
      }
      expect(policy.leaning).toBe(2);
    }
    throw new Error('no grow decided');
  });
});
