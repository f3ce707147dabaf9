import type { StoreSpec, WorkerGrant } from '../template/types.js';

/**
 * The worker's contract with those who start and drive it (providers, pools, the execution
 * manager): what it warms, what it reports, how it marks dead letters. They import these
 * from here, never from the worker's internals.
 */

/**
 * What a worker must warm before it is ready: the function modules of the nodes it
 * serves and the data-store connections they use. Paths are absolute.
 */
export interface WarmSpec {
  functions: Array<{ node_id: string; module: string; export: string }>;
  stores: Record<string, StoreSpec>;
  /** Extra environment for the worker (per tenant). */
  env?: Record<string, string>;
  /** The flow version it was warmed for (`flowVersion`): a pool serves only that version. */
  version?: string;
  /** On a server: what the worker may be asked to deploy (see `WorkerGrant`). */
  grant?: WorkerGrant;
  /**
   * Warm the data plane up once ready, before any request: warmflow's own flow on synthetic
   * records, a few runs (see `WarmUp`). Set for a warm pool's resources, not on-demand ones
   * (whose run comes at once: it would only wait for the warm-up to stop).
   */
  warm_up?: boolean;
}

/** Measured usage a worker reports on its heartbeat. */
export interface ResourceUsage {
  cpu_user_us: number;
  cpu_system_us: number;
  rss_bytes: number;
  heap_used_bytes: number;
  event_loop_utilization: number;
  at: string;
}

/** The type under which a data plane sends dead-lettered records (to the dead-letter file). */
export const DEAD_LETTER_TYPE = '$dead-letter';

export { loadSeed, persistentSeeds, primeSeed } from './dataplane/run-stores.js';
