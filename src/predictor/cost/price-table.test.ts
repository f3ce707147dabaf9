import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, hourlyCost, loadPrices, resolvePrices } from './price-table.js';

describe('price table', () => {
  it('prices cores, memory and a GPU per hour', () => {
    const prices = { cpu_core_hour: 0.05, memory_gib_hour: 0.01, gpu_hour: 1, currency: 'EUR' };
    expect(hourlyCost({ cpu_cores: 2, memory_gb: 1.5, gpu_enabled: false }, prices)).toBeCloseTo(
      0.115,
    );
    expect(hourlyCost({ cpu_cores: 1, memory_gb: 0.25, gpu_enabled: true }, prices)).toBeCloseTo(
      1.0525,
    );
  });

  it('overrides part of the defaults from a file and refuses bad prices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    writeFileSync(join(dir, 'p.json'), JSON.stringify({ gpu_hour: 2.5 }));
    const loaded = await loadPrices(join(dir, 'p.json'));
    expect(loaded).toEqual({ ...DEFAULT_PRICES, gpu_hour: 2.5 });
    expect(() => resolvePrices({ cpu_core_hour: -1 })).toThrow(
      /cpu_core_hour must be a number ≥ 0/,
    );
    writeFileSync(join(dir, 'bad.json'), '[1]');
    await expect(loadPrices(join(dir, 'bad.json'))).rejects.toThrow(/JSON object/);
  });
});
