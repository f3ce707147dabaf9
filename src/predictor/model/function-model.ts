/**
 * The per-function cost model the predictor sizes nodes with. Every coefficient is
 * per record or per key so one model serves any rate, record size and cardinality.
 */

/** Where a model's coefficients came from, most trusted last. */
export type ModelBasis = 'defaults' | 'calibration' | 'history';

/**
 * Coefficients of one function (or read/write/source node).
 *
 * - CPU µs per record = `cpu_us_base + cpu_us_per_byte * input_record_size`
 * - peak memory bytes = `memory_base_bytes`
 *   + `memory_record_factor * record_size * buffered_records` (batches in flight)
 *   + `memory_per_key_bytes * distinct_keys` (keyed state)
 *   + `memory_retained_per_record_bytes * records` (what an unkeyed function keeps, e.g. a cache)
 */
export interface FunctionModel {
  cpu_us_base: number;
  cpu_us_per_byte: number;
  /**
   * One-off CPU µs per run (module initialisation, JIT compilation): negligible for a
   * long stream, a visible share of CPU per record for a short batch.
   */
  cpu_fixed_us: number;
  /** Records out per record in (0 = filters everything, 2 = flat-maps to two). */
  selectivity: number;
  /** Output record size / input record size. */
  output_size_ratio: number;
  memory_base_bytes: number;
  /** Bytes a parsed record occupies in memory per byte of its serialized form. */
  memory_record_factor: number;
  memory_per_key_bytes: number;
  memory_retained_per_record_bytes: number;
  /**
   * True when the memory coefficients describe this node's share of a resource it shares
   * with co-located nodes (learned from apportioned history), not the node alone.
   */
  memory_shared?: boolean;
  /** Relative half-width of the confidence interval of CPU per record (0.2 = ±20 %). */
  cpu_rel_error: number;
  /** Relative half-width of the confidence interval of peak memory. */
  mem_rel_error: number;
  basis: ModelBasis;
  /** Past runs the coefficients were refined from (0 without history). */
  history_runs: number;
  /** Calibration facts worth showing (records used, errors, key count seen). */
  calibration?: {
    records: number;
    errors: number;
    distinct_keys: number;
    avg_record_size: number;
    timed_out: boolean;
  };
  /** Why the coefficients are what they are, in words. */
  notes: string[];
}

/** CPU µs one record of `recordSize` bytes costs under `model`, once warm. */
export function cpuUsPerRecord(model: FunctionModel, recordSize: number): number {
  return Math.max(0, model.cpu_us_base + model.cpu_us_per_byte * Math.max(0, recordSize));
}

/** CPU µs per record over a whole run of `records`: the warm cost plus the run's one-off cost spread over it. */
export function cpuUsPerRecordOverRun(
  model: FunctionModel,
  recordSize: number,
  records: number,
): number {
  return cpuUsPerRecord(model, recordSize) + (records > 0 ? model.cpu_fixed_us / records : 0);
}

/** What a node holds at its peak, the inputs of {@link peakMemoryBytes}. */
export interface MemoryLoad {
  recordSize: number;
  /** Records in flight in the node's buffers. */
  bufferedRecords: number;
  /** Distinct keys held in state (0 for unkeyed functions). */
  keys: number;
  /** Records the node processes over the run (for retained per-record memory). */
  records: number;
}

/** The components of a node's predicted peak memory, in bytes. */
export interface MemoryBreakdown {
  base: number;
  buffers: number;
  state: number;
  retained: number;
  total: number;
}

/** Peak memory of a node under `model` and `load`, split by what holds it. */
export function peakMemoryBytes(model: FunctionModel, load: MemoryLoad): MemoryBreakdown {
  const base = Math.max(0, model.memory_base_bytes);
  const buffers = Math.max(0, model.memory_record_factor * load.recordSize * load.bufferedRecords);
  const state = Math.max(0, model.memory_per_key_bytes * load.keys);
  const retained = Math.max(0, model.memory_retained_per_record_bytes * load.records);
  return { base, buffers, state, retained, total: base + buffers + state + retained };
}
