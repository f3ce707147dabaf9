/**
 * Messages between the predictor and its sandbox child. Plain JSON over fork IPC.
 */

/** Calibrate one function on a sample held in the message. */
export interface CalibrateRequest {
  kind: 'calibrate';
  /** Absolute path of the function's module. */
  module: string;
  export: string;
  records: unknown[];
  /** Field (dotted path) to partition by, for keyed functions. */
  key?: string | undefined;
  node: string;
  template: string;
  /** CPU milliseconds to spend per size bucket before trusting its figure. */
  minCpuMsPerBucket: number;
  /** Wall-clock budget for the whole measurement; past it, measure what is done. */
  timeBudgetMs: number;
  /** How many output records to return (input for downstream functions). */
  maxOutputs: number;
  /** Rows of further input types (the flow's `seed` files), by type, for ctx.input / ctx.lookup. */
  lookups?: Record<string, LookupTable>;
}

/** Rows of one stored type keyed by its key field's value. */
export interface LookupTable {
  key: string;
  rows: Record<string, unknown>;
}

/** What the child measured on its sample. */
export interface CalibrateResult {
  records: number;
  errors: number;
  first_error?: string;
  outputs_count: number;
  outputs: unknown[];
  avg_input_size: number;
  avg_output_size: number;
  distinct_keys: number;
  /** RSS and heap with the module loaded and nothing processed. */
  base_rss_bytes: number;
  base_heap_bytes: number;
  /** Heap bytes a parsed input record occupies. */
  record_heap_bytes: number;
  /** Heap growth over one pass with fresh state, after GC. */
  state_heap_growth_bytes: number;
  rss_growth_bytes: number;
  /** CPU µs per record of the function call alone (records handed over parsed), per size bucket. */
  buckets: Array<{ avg_size: number; cpu_us: number; records: number; reps: number }>;
  /** CPU µs the first (cold) pass cost beyond the same pass warm: module init and JIT. */
  cold_extra_cpu_us: number;
  /** Peak RSS of the child over the whole calibration (getrusage maxrss). */
  peak_rss_bytes: number;
  timed_out: boolean;
}

/** The child's reply. */
export type SandboxReply<T> = { ok: true; result: T } | { ok: false; error: string };
