/**
 * Template inference: flow files (YAML or `defineFlow`), their validation, and the
 * dataflow template inferred from function descriptors.
 */
export { parseFlow, validateFlowSpec } from './parse-flow.js';
export type { ParsedFlow } from './parse-flow.js';
export { loadFlow } from './load-flow.js';
export type { LoadedFlow, LoadedFunction } from './load-flow.js';
export { inferTemplate } from './infer-template.js';
export type { InferOptions } from './infer-template.js';
export { topologicalStages } from './topological-stages.js';
export { defineFlow, defineFunction } from './define-flow.js';
export { FlowPositions } from './flow-positions.js';
export { flowSchema, flowJsonSchema } from './flow-schema.js';
export { formatTemplateText, formatTemplateDot } from './format-template.js';
export { findCycles, formatCycle } from './find-cycles.js';
export type { Cycle } from './find-cycles.js';
