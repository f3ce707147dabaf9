export { simulate, type PolicyReport, type SimulateOptions } from './simulate.js';
export { parsePolicy, parsePolicies } from './parse-policy.js';
export { fixedPolicy } from './fixed-policy.js';
export { hybridPolicy, HYBRID_BINS } from './hybrid-policy.js';
export {
  warmflowPolicy,
  type WarmflowPolicyOptions,
  type WarmflowTuning,
} from './warmflow-policy.js';
export {
  DEFAULT_COST_MODEL,
  coldStartValue,
  idlePricePerMbMinute,
  outcomeCost,
  type CostModel,
} from './cost-model.js';
export type {
  KeepAliveDecision,
  KeepAlivePolicy,
  PolicyLedger,
  PolicyUnit,
  UnitInfo,
} from './keep-alive-policy.js';
export { loadTrace, type Trace, type TraceFunction } from './trace/load-trace.js';
export {
  ResizePolicy,
  HoltForecast,
  DEFAULT_RESIZE_TUNING,
  type ResizeTuning,
  type ResizeDecision,
  type RateObservation,
} from './live/resize-policy.js';
