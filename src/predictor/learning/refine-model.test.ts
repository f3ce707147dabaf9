import { describe, expect, it } from 'vitest';
import type { FunctionObservation } from './past-runs.js';
import { defaultFunctionModel } from '../model/defaults.js';
import { cpuUsPerRecord, peakMemoryBytes } from '../model/function-model.js';
import { blendCpuWithPrior, priorCpuMiss, refineModel } from './refine-model.js';
import { huberLine, weightedMedian, decayWeights } from './robust-fit.js';
import { occupancyInverse } from './key-cardinality.js';

/** A deterministic PRNG so the synthetic runs are the same every time. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TRUE = { a: 6, b: 0.04, base: 60e6, perKey: 420, factor: 3.5, sel: 0.3 };
const BUFFERED = 4000;

/** Synthetic runs of a function with known costs, ±noise, newest first. */
function runs(count: number, noise: number, seed = 1): FunctionObservation[] {
  const rand = prng(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = 80 + rand() * 400;
    const keys = Math.round(1000 + rand() * 200_000);
    const jitter = () => 1 + (rand() * 2 - 1) * noise;
    const peak = (TRUE.base + TRUE.factor * size * BUFFERED + TRUE.perKey * keys) * jitter();
    return {
      execution_id: `run-${i}`,
      template: 't',
      node_id: 'f',
      function_fingerprint: 'abc',
      recorded_at: new Date(2026, 0, 30 - i).toISOString(),
      records_in: 100_000,
      records_out: Math.round(100_000 * TRUE.sel),
      avg_record_size: size,
      records_per_second: 5000,
      key_cardinality: keys,
      cpu_us_per_record: (TRUE.a + TRUE.b * size) * jitter(),
      peak_memory_bytes: peak,
      cpu_cores: 1,
      memory_gb: 1,
      oom_killed: false,
    };
  });
}

describe('robust fits', () => {
  it('weighted median and decay weights', () => {
    expect(weightedMedian([1, 2, 3, 100], [1, 1, 1, 1])).toBe(2.5);
    expect(weightedMedian([1, 2, 3], [1, 1, 5])).toBe(3);
    expect(decayWeights(6, 5)[5]).toBeCloseTo(0.5);
  });

  it('a Huber line ignores one wild outlier a least-squares line would follow', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const ys = xs.map((x) => 2 + 3 * x);
    ys[7] = 400;
    const fit = huberLine(
      xs,
      ys,
      xs.map(() => 1),
    );
    expect(fit.a).toBeCloseTo(2, 0);
    expect(fit.b).toBeCloseTo(3, 0);
  });

  it('inverts the occupancy formula: distinct keys seen in n draws → cardinality', () => {
    const k = 5000;
    const n = 2000;
    const seen = k * (1 - Math.exp(-n / k));
    expect(occupancyInverse(seen, n, 1e6)).toBeCloseTo(k, -1);
    expect(occupancyInverse(n, n, 123_456)).toBe(123_456);
  });
});

describe('refineModel (learning from history)', () => {
  it('converges on the true coefficients from synthetic runs with known costs', () => {
    const prior = defaultFunctionModel();
    prior.memory_record_factor = TRUE.factor;
    for (const [count, tolerance] of [
      [5, 0.1],
      [20, 0.05],
    ] as const) {
      const model = refineModel(prior, runs(count, 0.03), { bufferedRecords: BUFFERED });
      expect(model.basis).toBe('history');
      expect(model.history_runs).toBe(count);
      for (const size of [100, 300, 600]) {
        const cpu = cpuUsPerRecord(model, size);
        expect(Math.abs(cpu / (TRUE.a + TRUE.b * size) - 1)).toBeLessThan(tolerance);
      }
      for (const keys of [5000, 150_000, 400_000]) {
        const predicted = peakMemoryBytes(model, {
          recordSize: 200,
          bufferedRecords: BUFFERED,
          keys,
          records: 0,
        }).total;
        const truth = TRUE.base + TRUE.factor * 200 * BUFFERED + TRUE.perKey * keys;
        expect(Math.abs(predicted / truth - 1)).toBeLessThan(tolerance);
      }
      expect(model.selectivity).toBeCloseTo(TRUE.sel, 2);
      expect(model.cpu_rel_error).toBeLessThan(0.2);
    }
  });

  it('is not dragged by a single disturbed run', () => {
    const observations = runs(8, 0.02, 7);
    observations[2] = { ...observations[2], cpu_us_per_record: 500, peak_memory_bytes: 4e9 };
    const model = refineModel(defaultFunctionModel(), observations, { bufferedRecords: BUFFERED });
    expect(Math.abs(cpuUsPerRecord(model, 300) / (TRUE.a + TRUE.b * 300) - 1)).toBeLessThan(0.1);
  });

  it('follows recent runs when the code got slower', () => {
    const old = runs(10, 0.01, 3).map((o) => ({
      ...o,
      cpu_us_per_record: o.cpu_us_per_record / 2,
    }));
    const recent = runs(4, 0.01, 4);
    const model = refineModel(defaultFunctionModel(), [...recent, ...old], {
      bufferedRecords: BUFFERED,
      halfLife: 2,
    });
    const truth = TRUE.a + TRUE.b * 300;
    expect(Math.abs(cpuUsPerRecord(model, 300) / truth - 1)).toBeLessThan(0.15);
  });

  it('with one run, scales the prior’s shape to match it', () => {
    const prior = { ...defaultFunctionModel(), cpu_us_base: 2, cpu_us_per_byte: 0.01 };
    const [one] = runs(1, 0, 9);
    const model = refineModel(prior, [one], { bufferedRecords: BUFFERED });
    // One run (±10 %) outweighs the defaults' ±100 % a hundredfold: within 2 % of it.
    expect(cpuUsPerRecord(model, one.avg_record_size) / one.cpu_us_per_record).toBeCloseTo(1, 1);
    expect(model.cpu_us_per_byte / model.cpu_us_base).toBeCloseTo(0.005);
  });
});

describe('refineModel one-off cost', () => {
  it('separates a per-run start-up cost from the per-record cost when runs differ in length', () => {
    const fixed = 40_000; // 40 ms of JIT and init per run
    const perRecord = 8;
    const observations = runs(6, 0, 5).map((o, i) => {
      const records = 2000 * (i + 1);
      return {
        ...o,
        records_in: records,
        avg_record_size: 200,
        cpu_us_per_record: perRecord + fixed / records,
      };
    });
    const model = refineModel(defaultFunctionModel(), observations, { bufferedRecords: BUFFERED });
    expect(model.cpu_fixed_us).toBeCloseTo(fixed, -3);
    expect(cpuUsPerRecord(model, 200)).toBeCloseTo(perRecord, 1);
  });
});

describe('refineModel memory of unkeyed nodes', () => {
  it('learns peak memory that grows with run length', () => {
    const observations = runs(5, 0, 11).map((o, i) => {
      const records = 4000 * (i + 1);
      return {
        ...o,
        key_cardinality: null,
        records_in: records,
        avg_record_size: 100,
        peak_memory_bytes: 80e6 + 250 * records,
      };
    });
    const model = refineModel(defaultFunctionModel(), observations, { bufferedRecords: 0 });
    const at = peakMemoryBytes(model, {
      recordSize: 100,
      bufferedRecords: 0,
      keys: 0,
      records: 48_000,
    }).total;
    expect(at / (80e6 + 250 * 48_000)).toBeCloseTo(1, 2);
  });
});

describe('refineModel blends CPU with a calibration when runs scatter', () => {
  it('leans on a precise calibration over wildly scattered runs, and on consistent runs over it', () => {
    const calibrated = {
      ...defaultFunctionModel(),
      cpu_us_base: 10,
      cpu_us_per_byte: 0,
      cpu_rel_error: 0.2,
      basis: 'calibration' as const,
    };
    const scattered = runs(6, 0, 21).map((o, i) => ({
      ...o,
      cpu_us_per_record: [2, 40, 5, 30, 3, 25][i],
    }));
    const noisy = refineModel(calibrated, scattered, { bufferedRecords: BUFFERED });
    const consistent = refineModel(
      calibrated,
      runs(6, 0, 21).map((o) => ({ ...o, cpu_us_per_record: 20 })),
      { bufferedRecords: BUFFERED },
    );
    const at = (m: typeof noisy) => cpuUsPerRecord(m, 200);
    expect(Math.abs(Math.log(at(noisy) / 10))).toBeLessThan(Math.log(1.5));
    expect(at(consistent)).toBeGreaterThan(18.5); // ±6 % runs outweigh a ±20 % calibration twelvefold
  });

  it('measures how far a prior missed the runs, robust to one odd run', () => {
    expect(priorCpuMiss([200, 210, 190, 20], [100, 100, 100, 100], [1, 1, 1, 1])).toBeCloseTo(
      Math.log(1.95),
      2,
    );
    expect(priorCpuMiss([50, 50], [100, 100], [1, 1])).toBeCloseTo(Math.log(2), 6);
    expect(priorCpuMiss([], [], [])).toBe(0);
  });

  it('weighs a prior by its claimed error and by how far it missed the runs', () => {
    const learned = () => ({
      ...defaultFunctionModel(),
      cpu_us_base: 10,
      cpu_us_per_byte: 0,
      cpu_rel_error: 0.25,
    });
    const prior = { ...learned(), cpu_us_base: 5, basis: 'calibration' as const };
    const trusted = learned();
    blendCpuWithPrior(trusted, prior, [100], [1]);
    expect(cpuUsPerRecord(trusted, 100)).toBeCloseTo(Math.sqrt(50), 6);
    const contradicted = learned();
    blendCpuWithPrior(contradicted, prior, [100], [1], Math.log(2));
    expect(cpuUsPerRecord(contradicted, 100)).toBeGreaterThan(9);
  });

  it('leans on the runs when a calibration said half of what each of them used', () => {
    const calibrated = {
      ...defaultFunctionModel(),
      cpu_us_base: 10,
      cpu_us_per_byte: 0,
      cpu_rel_error: 0.2,
      basis: 'calibration' as const,
    };
    // ±25 % around twice the calibration: scattered enough that a ±20 % prior would weigh as much.
    const twice = runs(6, 0, 21).map((o, i) => ({
      ...o,
      cpu_us_per_record: 20 * [0.75, 1.25, 0.8, 1.2, 1, 1.1][i],
    }));
    const refined = refineModel(calibrated, twice, { bufferedRecords: BUFFERED });
    expect(cpuUsPerRecord(refined, 200)).toBeGreaterThan(17);
  });
});
