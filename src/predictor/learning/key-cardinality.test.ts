import { describe, expect, it } from 'vitest';
import type { Dcp } from '../../profiler/dcp.js';
import { fromPastRuns, keyCardinality } from './key-cardinality.js';

const dcp = { cardinality: { user: 900 } } as unknown as Dcp;

describe('keyCardinality from past runs', () => {
  it('extrapolates keys that grow with the run (a power law fitted on the runs)', () => {
    // One key per 12 records in every run: b = 1, so 48,000 records hold 4,000 keys.
    const past = [4000, 7000, 10000, 14000, 18000].map((r) => ({ records: r, keys: r / 12 }));
    expect(fromPastRuns(past, 48_000)?.keys).toBe(4000);
  });

  it('keeps keys that saturate where they were', () => {
    const past = [4000, 8000, 16000].map((r) => ({ records: r, keys: 240 }));
    expect(fromPastRuns(past, 100_000)?.keys).toBe(240);
  });

  it('reads a single run as a sample of the population, and never exceeds the run', () => {
    // 500 distinct keys in 1,000 records: a population of ~630, nearly all seen in 10,000 records.
    const one = fromPastRuns([{ records: 1000, keys: 500 }], 10_000)!;
    expect(one.keys).toBeGreaterThan(600);
    expect(one.keys).toBeLessThan(660);
    expect(fromPastRuns([{ records: 1000, keys: 1000 }], 50)!.keys).toBe(50);
  });

  it('ranks the DCP first, then past runs, then the calibration sample, then one key per record', () => {
    const past = [{ records: 1000, keys: 100 }];
    const sample = { distinct: 50, sampled: 200 };
    expect(keyCardinality(dcp, 'user', 10_000, sample, past).keys).toBe(900);
    expect(keyCardinality(dcp, 'user_id', 10_000, sample, past).source).toMatch(/past run/);
    expect(keyCardinality(dcp, 'user_id', 10_000, sample, []).source).toMatch(/calibration/);
    expect(keyCardinality(dcp, 'user_id', 10_000).keys).toBe(10_000);
    expect(fromPastRuns([{ records: 1000, keys: null }], 10)).toBeUndefined();
  });
});
