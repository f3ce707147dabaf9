import { describe, expect, it } from 'vitest';
import { hybridPolicy } from './hybrid-policy.js';
import type { KeepAliveDecision, PolicyLedger } from './keep-alive-policy.js';

const ledger: PolicyLedger = {
  minute: 0,
  wastedMbMinutes: 0,
  outstandingMbMinutes: 0,
  referenceWastedMbMinutes: 0,
};

/** The decision after the last of `minutes` (invocation minutes, ascending). */
function decideAfter(minutes: number[]): KeepAliveDecision {
  const unit = hybridPolicy().unit({ key: 'f', memoryMb: 1 });
  let decision: KeepAliveDecision | undefined;
  for (const m of minutes) decision = unit.afterInvocation(m, 1, { ...ledger, minute: m });
  return decision!;
}

describe('hybrid policy', () => {
  it('keeps 4 hours before it has a representative histogram', () => {
    expect(decideAfter([0])).toMatchObject({ pre: 0, ka: 240 });
    // Nine idle times of 5: fewer than ten in range.
    expect(decideAfter(Array.from({ length: 10 }, (_, i) => 6 * i))).toMatchObject({
      pre: 0,
      ka: 240,
    });
  });

  it('computes ⌈1.1·50⌉ = 55, not the 56 floating point gives', () => {
    // Eleven invocations 51 minutes apart: ten idle times of 50 (one bin: CV = √239 ≥ 2).
    const minutes = Array.from({ length: 11 }, (_, i) => 51 * i);
    expect(Math.ceil(1.1 * 50)).toBe(56); // the trap
    // head = tail = 50: pre = ⌊0.9·50⌋ = 45, ka = 55 − 45 + 1 = 11.
    expect(decideAfter(minutes)).toMatchObject({ pre: 45, ka: 11 });
  });

  it('takes the 5th and 99th percentile bins of the in-range idle times', () => {
    // Idle times: 19 × 10 and one 30 → 5th pct bin 10; 99th: cumulative 19/20 < 99 % → 30.
    const minutes = [0];
    for (let i = 0; i < 19; i++) minutes.push(minutes[minutes.length - 1] + 11);
    minutes.push(minutes[minutes.length - 1] + 31);
    // pre = ⌊9·10/10⌋ = 9, ka = ⌈11·30/10⌉ − 9 + 1 = 33 − 8 = 25.
    expect(decideAfter(minutes)).toMatchObject({ pre: 9, ka: 25 });
  });

  it('forecasts from the latest idle time when most are out of range', () => {
    // Idle times 300 and 250: both ≥ 240, OOB share 1 > 0.5; p = 250.
    expect(decideAfter([0, 301, 552])).toMatchObject({ pre: 212, ka: 75 });
    // 2 of 3 out of range still > 0.5; p = the latest (in range: 7).
    expect(decideAfter([0, 301, 552, 560])).toMatchObject({ pre: 5, ka: 3 });
    // ka is at least 1 when p = 0… but p = 0 with OOB > half needs ≥ 3 OOB first.
    expect(decideAfter([0, 301, 602, 903, 904])).toMatchObject({ pre: 0, ka: 1 });
  });

  it('falls back to 4 hours when the histogram is flat (CV < 2)', () => {
    // Ten idle times spread over ten bins: 240·10 = 2400 < 5·100 = 500? No: 2400 ≥ 500, so CV ≥ 2
    // holds for any ten values in 240 bins; a flat histogram needs many values in many bins.
    const minutes = [0];
    for (let i = 0; i < 240; i++) minutes.push(minutes[minutes.length - 1] + 1 + i);
    // 240 idle times, one per bin: 240·240 = 57600 < 5·240² = 288000 → not representative.
    expect(decideAfter(minutes)).toMatchObject({ pre: 0, ka: 240 });
  });
});
