import type { Dcp } from '../profiler/dcp.js';
import type { PastRuns } from './learning/past-runs.js';
import type { TemplateNode } from '../template/types.js';
import type { CalibrationOptions } from './calibration/calibrate-flow.js';
import type { EngineCalibration } from './calibration/engine-calibration.js';
import type { PriceTable } from './cost/price-table.js';
import type { PredictorFlow } from './flow-view.js';
import type { FunctionModel, MemoryBreakdown } from './model/function-model.js';
import type { PlacementPolicy } from './placement/choose-store.js';
import type { NodeRates } from './rates/dag-rates.js';
import type { Rpr } from './rpr.js';

/** Inputs of `predict`. */
export interface PredictOptions {
  flow: PredictorFlow;
  /** The profile of the flow's input (every stream without its own entry in `dcps`). */
  dcp: Dcp;
  /** Profiles per stream name, for flows with several streams. */
  dcps?: Record<string, Dcp>;
  /** Past runs to learn from (a `HistoryStore` of `history/`). */
  history?: PastRuns;
  tenant?: string;
  /**
   * Run each function on a sample in a sandbox (default true): `true` reads the
   * streams' `source` files, `{ sample }` gives the records, `false` skips it.
   */
  calibrate?: boolean | ({ sample?: unknown[] } & CalibrationOptions);
  prices?: Partial<PriceTable>;
  /** GPUs the provider can give (default 0). */
  gpus?: number;
  /** Target CPU utilisation in (0, 1] (default 0.7). */
  targetUtilisation?: number;
  /** Provider core step (default 1; 0.5 for providers with half cores). */
  coreStep?: number;
  /** VPA-style memory safety margin (default 0.15). */
  memoryMargin?: number;
  /** Records in flight per node (default 4 000: 4 batches of 1 000). */
  bufferedRecords?: number;
  /** Records per second assumed when the DCP found no rate (default 1 000). */
  defaultRate?: number;
  placement?: Partial<PlacementPolicy>;
  /**
   * Nodes the engine co-locates on one resource (e.g. `planGroups(template)`): the
   * runtime's base memory is then counted once per group, split evenly over its nodes,
   * since the pool sums a group's RPRs into one resource.
   */
  groups?: string[][];
  /**
   * A run of the flow on the engine over the sample (`calibrateOnEngine` in src/flow):
   * corrects each function's CPU and its resource's base memory for what the engine adds.
   */
  engineCalibration?: EngineCalibration;
}

/** Everything behind one node's RPR. */
export interface NodePrediction {
  node_id: string;
  kind: TemplateNode['kind'];
  rates: NodeRates;
  model: FunctionModel;
  /** Key field and distinct keys for keyed functions. */
  key?: { field: string; keys: number; source: string };
  /** Warm CPU µs per record (what cores are sized by). */
  cpu_us_per_record: number;
  /** CPU µs per record over a run of `run_records`, the one-off start-up cost included. */
  cpu_us_per_record_run: number;
  /** Records the node is expected to process over the profiled volume. */
  run_records: number;
  cores_needed: number;
  memory: MemoryBreakdown;
  rpr: Rpr;
}

/** What `predict` returns. */
export interface PredictionResult {
  template: string;
  rprs: Rpr[];
  nodes: NodePrediction[];
  total_hourly_cost: number;
  prices: PriceTable;
}
