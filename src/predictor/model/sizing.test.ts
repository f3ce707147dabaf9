import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultFunctionModel } from './defaults.js';
import { cpuUsPerRecord, peakMemoryBytes } from './function-model.js';
import { coresNeeded, provisionMemoryGb, requiredCores, roundUpTo } from './sizing.js';

const GiB = 1024 ** 3;

describe('sizing arithmetic', () => {
  it('computes cores as ceil(rate × µs / 1e6 / utilisation), at least one', () => {
    expect(requiredCores(10_000, 50)).toBe(1); // 0.5 s/s / 0.7 = 0.714
    expect(requiredCores(100_000, 50)).toBe(8); // 5 / 0.7 = 7.14
    expect(requiredCores(0, 50)).toBe(1);
    expect(requiredCores(14_000, 50, { targetUtilisation: 0.7, coreStep: 1 })).toBe(1); // exactly 1.0
    expect(requiredCores(100_000, 50, { targetUtilisation: 0.7, coreStep: 0.5 })).toBe(7.5);
    expect(coresNeeded(1000, 700, 0.7)).toBeCloseTo(1);
    expect(() => coresNeeded(1, 1, 0)).toThrow(RangeError);
  });

  it('rounds memory up to 0.25 GiB after the margin, never below the minimum', () => {
    expect(provisionMemoryGb(0)).toBe(0.25);
    expect(provisionMemoryGb(GiB)).toBe(1.25); // 1.15 GiB → 1.25
    expect(provisionMemoryGb(GiB / 1.15)).toBe(1); // exactly 1 GiB with the margin
    expect(
      provisionMemoryGb(2 * GiB, { memoryMargin: 0, memoryStepGb: 0.5, minMemoryGb: 0.5 }),
    ).toBe(2);
    expect(roundUpTo(0.75 + 1e-12, 0.25)).toBe(0.75);
  });

  it('always allocates enough and never a whole step too much (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        fc.constantFrom(0.5, 1),
        (rate, us, step) => {
          const cores = requiredCores(rate, us, { targetUtilisation: 0.7, coreStep: step });
          const needed = coresNeeded(rate, us, 0.7);
          return cores >= needed - 1e-6 && (cores === step || cores - step < needed + 1e-6);
        },
      ),
    );
  });

  it('turns coefficients into CPU per record and peak memory', () => {
    const model = { ...defaultFunctionModel(), cpu_us_base: 3, cpu_us_per_byte: 0.05 };
    expect(cpuUsPerRecord(model, 200)).toBeCloseTo(13);
    model.memory_base_bytes = 50e6;
    model.memory_record_factor = 4;
    model.memory_per_key_bytes = 300;
    model.memory_retained_per_record_bytes = 2;
    const m = peakMemoryBytes(model, {
      recordSize: 100,
      bufferedRecords: 4000,
      keys: 10_000,
      records: 1000,
    });
    expect(m.buffers).toBe(1_600_000);
    expect(m.state).toBe(3_000_000);
    expect(m.retained).toBe(2000);
    expect(m.total).toBe(50e6 + 1_600_000 + 3_000_000 + 2000);
  });
});
