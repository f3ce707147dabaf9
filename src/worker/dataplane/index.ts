import type { CreateDataPlane } from '../dataplane-contract.js';
import { createWarmflowDataPlane } from './data-plane.js';

/**
 * The factory the worker calls while warming (see `dataplane-contract.ts`): threads
 * started, function modules imported, store connections opened, before the worker
 * reports ready.
 */
export const createDataPlane: CreateDataPlane = createWarmflowDataPlane;

export { createWarmflowDataPlane, threadCount } from './data-plane.js';
export type { DeploySpec, SourceSpec, SeedSpec, NodeStats, RunResult } from './deploy-spec.js';
export { mergeNodeStats } from './deploy-spec.js';
export { readChunk, chunkCount, parseLines, CHUNK_BYTES } from '../../sources/jsonl-chunks.js';
export { partitionOf, fieldOf } from './node-context.js';
export { DEAD_LETTER_TYPE } from './thread-messages.js';
