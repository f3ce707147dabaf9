import { DEFAULT_PRICES, type PriceTable } from '../predictor/cost/price-table.js';

/**
 * What warm idle capacity and a cold start are worth, so a policy can trade one for the
 * other. A warm instance holds its memory and, as on AWS Lambda, a CPU share in
 * proportion to it (one core per `mb_per_core`); both are priced by the price table.
 * A cold start costs its duration × the value of a second of latency to the request
 * that waits for it.
 */
export interface CostModel {
  prices: PriceTable;
  /** MB of memory that come with one core of CPU (Lambda: 1769). */
  mb_per_core: number;
  /** Measured (or assumed) duration of a cold start, seconds. */
  cold_start_seconds: number;
  /** Value of one second of latency to a waiting request, in the price table's currency. */
  latency_value_per_second: number;
}

/**
 * Defaults: on-demand cloud prices, Lambda's CPU share, a 2-second cold start (Azure
 * Functions' typical cold start for interpreted runtimes) valued at 0.0005 per second —
 * under which keeping a 150 MB instance warm for ~18 minutes costs as much as one cold start.
 */
export const DEFAULT_COST_MODEL: CostModel = Object.freeze({
  prices: DEFAULT_PRICES,
  mb_per_core: 1769,
  cold_start_seconds: 2,
  latency_value_per_second: 0.0005,
});

/** Price of keeping one MB warm and idle for one minute. */
export function idlePricePerMbMinute(model: CostModel): number {
  return (
    (model.prices.memory_gib_hour / 1024 + model.prices.cpu_core_hour / model.mb_per_core) / 60
  );
}

/** What one cold start costs. */
export function coldStartValue(model: CostModel): number {
  return model.cold_start_seconds * model.latency_value_per_second;
}

/** Total cost of a simulated or measured outcome under the model. */
export function outcomeCost(
  wastedMbMinutes: number,
  coldStarts: number,
  model: CostModel = DEFAULT_COST_MODEL,
): number {
  return wastedMbMinutes * idlePricePerMbMinute(model) + coldStarts * coldStartValue(model);
}
