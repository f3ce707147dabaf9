/**
 * The pipeline every front door runs (CLI, server, benches): profile → calibrate →
 * predict (or the rule) → fit → pool → execute → record.
 */
export { runFlow, CALIBRATE_UNTIL_RUNS, CALIBRATION_SAMPLE } from './run-flow.js';
export type { RunFlowOptions, RunFlowResult } from './run-flow.js';
export { planRprs } from './plan-rprs.js';
export type { PlanRprsOptions, PlannedRprs, RprSource } from './plan-rprs.js';
export { calibrationSamples } from './samples.js';
export type { CalibrationSamples } from './samples.js';
export { calibrateOnEngine } from './calibrate-on-engine.js';
export type { EngineCalibrationOptions } from './calibrate-on-engine.js';
export { executeAndRecord } from './execute-and-record.js';
export type { RecordInto } from './execute-and-record.js';
export { formatRunReport, formatStatus } from './format-run.js';
