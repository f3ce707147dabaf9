/** The Resource Prediction Engine: per-node RPRs from the DCP, the template, calibration and history. */
export { predict } from './predict.js';
export { ruleRprs } from './rule-rprs.js';
export type { PredictOptions, PredictionResult, NodePrediction } from './prediction.js';
export type { PredictorFlow, PredictorFunction } from './flow-view.js';
export type {
  FunctionModel,
  MemoryBreakdown,
  MemoryLoad,
  ModelBasis,
} from './model/function-model.js';
export { cpuUsPerRecord, peakMemoryBytes } from './model/function-model.js';
export { defaultFunctionModel, ioNodeModel } from './model/defaults.js';
export {
  DEFAULT_SIZING,
  coresNeeded,
  requiredCores,
  provisionMemoryGb,
  roundUpTo,
} from './model/sizing.js';
export type { SizingPolicy } from './model/sizing.js';
export { propagateRates, topologicalOrder } from './rates/dag-rates.js';
export type { NodeRates, RateInputs } from './rates/dag-rates.js';
export { calibrateFlow } from './calibration/calibrate-flow.js';
export type { CalibrationOptions, CalibrationOutcome } from './calibration/calibrate-flow.js';
export { runInSandbox } from './calibration/sandbox.js';
export type { CalibrateRequest, CalibrateResult } from './calibration/sandbox-protocol.js';
export { refineModel } from './learning/refine-model.js';
export { huberLine, weightedMedian, decayWeights } from './learning/robust-fit.js';
export { functionFingerprint } from './learning/function-fingerprint.js';
export { keyCardinality } from './learning/key-cardinality.js';
export { chooseStore, DEFAULT_PLACEMENT } from './placement/choose-store.js';
export type { Placement, PlacementInput, PlacementPolicy } from './placement/choose-store.js';
export { assignGpus } from './placement/assign-gpus.js';
export type { GpuCandidate, GpuDecision } from './placement/assign-gpus.js';
export { DEFAULT_PRICES, hourlyCost, loadPrices, resolvePrices } from './cost/price-table.js';
export type { PriceTable } from './cost/price-table.js';
export { formatPrediction } from './explain/format-prediction.js';
