/** The Dataflow Execution Manager: runs a template on warm (or on-demand) resources and reports. */
export type * from './completion-status.js';
export { executeDataflow } from './execution-manager.js';
export type { ExecutionRequest, ExecutionEnvironment } from './execution-manager.js';
export { planGroups, fitGroupRprs, groupParallelism } from './plan.js';
export { resolveSources, parseInputs } from './sources.js';
export type { ResolvedSource } from './sources.js';
export { SinkFiles, DEAD_LETTER_FILE } from './sinks.js';
export { feedSource } from './push-feeder.js';
export type { PushBatch, FeederStats } from './push-feeder.js';
export { buildDeploySpec, runStores } from './deploy-plan.js';
export type { LiveResize, LiveResizeOptions } from './live-resizer.js';
