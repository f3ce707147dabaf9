/**
 * The Data Characteristic Profile. Top-level field names are the spec's and are fixed;
 * `fields` and the other extra sections carry the detail behind them.
 */

export type ValueType = 'null' | 'boolean' | 'integer' | 'float' | 'string' | 'object' | 'array';

/** Per-field detail (nested fields by dotted path, array elements as `path[]`). */
export interface FieldProfile {
  path: string;
  /** Records in which the field is present (null included). */
  present: number;
  nulls: number;
  types: Partial<Record<ValueType, number>>;
  inferred_type: ValueType;
  distinct: { estimate: number; exact: boolean; relative_error: number };
  numeric?: { min: number; max: number; mean: number; quantiles: Record<string, number> };
  string_length?: { min: number; max: number; mean: number };
  frequent?: Array<{ value: string; count: number; error: number }>;
  /** Strings that parse as dates, and their range (ISO 8601). */
  dates?: { count: number; min: string; max: string };
  /** Share of expected values that are present and not null (see docs/profiler.md). */
  completeness?: number;
  /** Share of checked values of the declared or inferred type that break no constraint. */
  validity?: number;
}

export interface Dcp {
  /** Share of each type over all field values. */
  dataTypeDistribution: Partial<Record<ValueType, number>>;
  /** Distinct-count estimate per field (dotted path). */
  cardinality: Record<string, number>;
  volume: {
    avg_record_size: number;
    records_per_second: number;
    /**
     * How records_per_second was found: from the records' event times, their arrival, or —
     * for a file a run replays — the replay rate (`--rate`, `replay_rate`) or, replayed as
     * fast as possible, the flow's calibrated throughput (`calibrated_throughput`).
     */
    rate_source: 'event_time' | 'arrival' | 'none' | 'replay_rate' | 'calibrated_throughput';
    /**
     * For a replayed file: the rate its records' event times (or arrival) describe, beside the
     * replay rate in records_per_second; absent when the records carry none.
     */
    event_time_records_per_second?: number;
    /** The event-time field used, if any. */
    time_field?: string;
    records: number;
    bytes: number;
  };
  schema_evolution_probability: number;
  data_quality_score: number;
  quality?: { completeness: number; validity: number; consistency: number };
  /** Schema windows behind schema_evolution_probability. */
  schema?: { window_size: number; windows: number; changes: number };
  fields: Record<string, FieldProfile>;
  /** Values of fields past the profiler's field limit, counted but not profiled. */
  overflow_values?: number;
  malformed?: { count: number; examples: Array<{ line: number; error: string }> };
}
