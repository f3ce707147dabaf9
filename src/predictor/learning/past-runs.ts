import type { Rpr } from '../rpr.js';

/**
 * Per-function measurements across templates, what the predictor learns from (history
 * keeps them; the type is the predictor's, as the consumer that defines what it needs).
 */
export interface FunctionObservation {
  execution_id: string;
  template: string;
  node_id: string;
  /** Hash of the function's module source, so the same code in another template is recognised. */
  function_fingerprint: string | null;
  /**
   * The run's `template_fingerprint` (the template's shape, not its name), so a renamed
   * flow keeps its history; absent in observations recorded before it was kept.
   */
  template_fingerprint?: string;
  recorded_at: string;
  records_in: number;
  records_out: number;
  avg_record_size: number;
  records_per_second: number;
  key_cardinality: number | null;
  cpu_us_per_record: number;
  peak_memory_bytes: number;
  cpu_cores: number;
  memory_gb: number;
  oom_killed: boolean;
}

/** What the predictor reads of one past run: a structural part of history's `RunRecord`. */
export interface PastRun {
  execution_id: string;
  rprs: Rpr[];
  status: {
    timings: { total_ms: number };
    nodes: Array<{
      node_id: string;
      kind: string;
      resource_id: string | null;
      rpr?: Rpr | null;
      peak_memory_bytes: number;
      cpu_seconds: number;
      records_in: number;
      state_keys?: number | null;
    }>;
  };
  events?: Array<{ node_id: string; event: string; detail?: string }>;
}

/**
 * The predictor's read port onto past runs; history's `HistoryStore` implements it (and
 * the predictor tests' in-memory history), so the predictor depends on no store.
 */
export interface PastRuns {
  runs(filter?: RunFilter): Promise<PastRun[]>;
  run(executionId: string, tenant?: string): Promise<PastRun | undefined>;
  /** Observations of a node of a template, newest first. */
  observations(filter: ObservationFilter): Promise<FunctionObservation[]>;
}

/** Which runs to list (newest first). */
// A type, not an interface: the stores pass it where any string-keyed record is taken.
export type RunFilter = {
  tenant?: string;
  template?: string;
  /** The template's shape (see `templateFingerprint`), whatever its name. */
  template_fingerprint?: string;
  limit?: number;
};

/** Which observations to list (newest first): a node of a template, or the same code anywhere. */
// A type, not an interface: the stores pass it where any string-keyed record is taken.
export type ObservationFilter = {
  tenant?: string;
  template?: string;
  template_fingerprint?: string;
  node_id?: string;
  function_fingerprint?: string;
  limit?: number;
};
