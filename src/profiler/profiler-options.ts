import type { FieldExpectation } from './field-expectation.js';
import type { FieldStateJson } from './field-state.js';
import type { MisraGriesJson } from './sketches/misra-gries.js';
import type { SchemaWindowsJson } from './schema-windows.js';

/** Options of a {@link Profiler} (and of `profile()`). */
export interface ProfilerOptions {
  /** Records per schema window for `schema_evolution_probability` (default 1000). */
  window?: number;
  /** Event-time field (dotted path) for `records_per_second`; detected when omitted. */
  timeField?: string;
  /** Declared types and constraints per field path, checked for the validity score. */
  expect?: Record<string, FieldExpectation>;
  /** Most fields tracked (default 256); values of more are counted in `overflow_values` only. */
  maxFields?: number;
  /** HyperLogLog precision p, m = 2^p registers (default 16: 0.41 % error, 64 KiB per field once dense). */
  hllPrecision?: number;
  /** DDSketch relative accuracy of quantiles (default 0.01). */
  quantileAccuracy?: number;
  /** Misra-Gries counters per field (default 64). */
  frequentK?: number;
  /** Frequent values reported per field (default 10). */
  topValues?: number;
  /** Malformed-line examples kept (default 10). */
  malformedExamples?: number;
}

/** Options with every default filled in, frozen. */
export type ProfilerConfig = Readonly<
  Required<Omit<ProfilerOptions, 'timeField' | 'expect'>> &
    Pick<ProfilerOptions, 'timeField'> & { expect: Record<string, FieldExpectation> }
>;

/** Serialised {@link Profiler}, for shipping a partial profile between processes. */
export interface ProfilerJson {
  version: 1;
  options: ProfilerOptions;
  records: number;
  bytes: number;
  arrivals: [number, number, number];
  overflowFields: number;
  malformed: { count: number; examples: Array<{ line: number; error: string }> };
  fields: FieldStateJson[];
  fingerprints: MisraGriesJson;
  windows: SchemaWindowsJson;
}

/** Fills in the defaults and checks the options of a profiler. */
export function resolveProfilerOptions(options: ProfilerOptions): ProfilerConfig {
  const window = options.window ?? 1000;
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`window must be a positive integer, got ${window}`);
  }
  return Object.freeze({
    window,
    timeField: options.timeField,
    expect: { ...(options.expect ?? {}) },
    maxFields: options.maxFields ?? 256,
    hllPrecision: options.hllPrecision ?? 16,
    quantileAccuracy: options.quantileAccuracy ?? 0.01,
    frequentK: options.frequentK ?? 64,
    topValues: options.topValues ?? 10,
    malformedExamples: options.malformedExamples ?? 10,
  });
}
