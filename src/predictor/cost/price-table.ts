import { readJsonFile } from '../../read-json-file.js';
import { ValidationError, WarmflowError, type Problem } from '../../errors.js';

/** Hourly prices a cost is computed under. */
export interface PriceTable {
  cpu_core_hour: number;
  memory_gib_hour: number;
  gpu_hour: number;
  currency: string;
}

/**
 * Default prices: roughly on-demand general-purpose cloud VMs (per vCPU-hour and
 * GiB-hour, split the way providers price custom machine types) and one mid-range GPU.
 */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  cpu_core_hour: 0.0316,
  memory_gib_hour: 0.0042,
  gpu_hour: 0.35,
  currency: 'USD',
});

/** Hourly cost of one allocation under `prices`. */
export function hourlyCost(
  allocation: { cpu_cores: number; memory_gb: number; gpu_enabled: boolean },
  prices: PriceTable = DEFAULT_PRICES,
): number {
  return (
    allocation.cpu_cores * prices.cpu_core_hour +
    allocation.memory_gb * prices.memory_gib_hour +
    (allocation.gpu_enabled ? prices.gpu_hour : 0)
  );
}

/** Merges a partial price table over the defaults, refusing negative or non-numeric prices. */
export function resolvePrices(
  partial: Partial<PriceTable> | undefined,
  subject = 'prices',
): PriceTable {
  const merged = { ...DEFAULT_PRICES, ...partial };
  const problems: Problem[] = [];
  for (const field of ['cpu_core_hour', 'memory_gib_hour', 'gpu_hour'] as const) {
    const value = merged[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push({
        code: 'E_PRICE',
        message: `${field} must be a number ≥ 0, got ${JSON.stringify(value)}`,
        path: field,
      });
    }
  }
  if (problems.length > 0) throw new ValidationError(subject, problems);
  return merged;
}

/** Reads a price table file (`--prices prices.json`): any subset of {@link PriceTable}'s fields. */
export async function loadPrices(file: string): Promise<PriceTable> {
  const parsed = await readJsonFile(file, {
    code: 'E_INVALID_PRICES',
    what: 'prices',
    hint: 'give a JSON object like {"cpu_core_hour": 0.04, "memory_gib_hour": 0.005, "gpu_hour": 0.9}',
  });
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WarmflowError('E_INVALID_PRICES', `${file} must hold a JSON object of prices`);
  }
  return resolvePrices(parsed, file);
}
