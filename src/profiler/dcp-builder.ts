import type { Dcp, FieldProfile, ValueType } from './dcp.js';
import type { FieldState } from './field-state.js';
import type { FieldExpectation } from './field-expectation.js';
import { quality, type FieldQuality } from './quality.js';
import { eventRate } from './event-rate.js';

/** What {@link buildDcp} reads from a profiler. */
export interface DcpInput {
  config: {
    timeField?: string | undefined;
    expect: Record<string, FieldExpectation>;
    topValues: number;
  };
  fields: readonly FieldState[];
  records: number;
  bytes: number;
  arrivals: { count: number; min: number; max: number };
  overflowFields: number;
  malformed: { count: number; examples: ReadonlyArray<{ line: number; error: string }> };
  dominantFingerprint: number;
  windows: { windows: number; changes: number; probability: number };
  windowSize: number;
}

const QUANTILES: ReadonlyArray<[string, number]> = [
  ['p1', 0.01],
  ['p5', 0.05],
  ['p25', 0.25],
  ['p50', 0.5],
  ['p75', 0.75],
  ['p95', 0.95],
  ['p99', 0.99],
];

/** The type most non-null values have; integers and floats together make `float`. */
export function inferredType(field: FieldState): ValueType {
  const numbers = field.integers + field.floats;
  const ranked: Array<[ValueType, number]> = [
    [field.floats > 0 ? 'float' : 'integer', numbers],
    ['string', field.strings],
    ['boolean', field.booleans],
    ['object', field.objects],
    ['array', field.arrays],
  ];
  let best: [ValueType, number] = ['null', 0];
  for (const entry of ranked) if (entry[1] > best[1]) best = entry;
  return best[0];
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fieldProfile(
  field: FieldState,
  inferred: ValueType,
  topValues: number,
  q: FieldQuality,
): FieldProfile {
  const types: Partial<Record<ValueType, number>> = {};
  const counts: Array<[ValueType, number]> = [
    ['null', field.nulls],
    ['boolean', field.booleans],
    ['integer', field.integers],
    ['float', field.floats],
    ['string', field.strings],
    ['object', field.objects],
    ['array', field.arrays],
  ];
  for (const [type, count] of counts) if (count > 0) types[type] = count;
  const profile: FieldProfile = {
    path: field.path,
    present: field.present,
    nulls: field.nulls,
    types,
    inferred_type: inferred,
    distinct: {
      // An estimate above the values seen is impossible: cap it at the non-null count.
      estimate: Math.min(Math.round(field.hll.estimate()), field.present - field.nulls),
      exact: field.hll.exact,
      relative_error: round(field.hll.relativeError, 6),
    },
  };
  const numbers = field.integers + field.floats;
  // Numeric statistics describe numeric fields only: a title field with a few numeric
  // titles is a string field, and its statistics are string lengths.
  const numeric = inferred === 'integer' || inferred === 'float';
  if (numeric && numbers > 0 && field.dd !== undefined) {
    const quantiles: Record<string, number> = {};
    for (const [name, q] of QUANTILES) {
      const value = Math.min(field.numMax, Math.max(field.numMin, field.dd.quantile(q)));
      // The sketch interpolates; a field of integers has integer quantiles.
      quantiles[name] = field.floats === 0 ? Math.round(value) : value;
    }
    profile.numeric = {
      min: field.numMin,
      max: field.numMax,
      mean: field.numSum / numbers,
      quantiles,
    };
  }
  if (field.strings > 0) {
    profile.string_length = {
      min: field.lenMin,
      max: field.lenMax,
      mean: round(field.lenSum / field.strings, 3),
    };
  }
  const frequent = field.mg.top(topValues);
  if (frequent.length > 0) {
    profile.frequent = frequent.map((f) => ({
      value: String(f.value),
      count: f.count,
      error: f.error,
    }));
  }
  if (field.dateCount > 0) {
    profile.dates = {
      count: field.dateCount,
      min: new Date(field.dateMin).toISOString(),
      max: new Date(field.dateMax).toISOString(),
    };
  }
  profile.completeness = round(q.completeness);
  profile.validity = round(q.validity);
  return profile;
}

/** Turns a profiler's state into the DCP document. */
export function buildDcp(input: DcpInput): Dcp {
  const fields: Record<string, FieldProfile> = {};
  const cardinality: Record<string, number> = {};
  const typeTotals: Record<ValueType, number> = {
    null: 0,
    boolean: 0,
    integer: 0,
    float: 0,
    string: 0,
    object: 0,
    array: 0,
  };
  const inferred = new Map<FieldState, ValueType>();
  for (const field of input.fields) inferred.set(field, inferredType(field));
  const q = quality(input, inferred);
  for (const field of input.fields) {
    const profile = fieldProfile(
      field,
      inferred.get(field)!,
      input.config.topValues,
      q.fields.get(field)!,
    );
    fields[field.path] = profile;
    if (field.strings + field.integers + field.floats + field.booleans > 0) {
      cardinality[field.path] = profile.distinct.estimate;
    }
    for (const [type, count] of Object.entries(profile.types) as Array<[ValueType, number]>)
      typeTotals[type] += count;
  }
  const totalValues = Object.values(typeTotals).reduce((a, b) => a + b, 0);
  const dataTypeDistribution: Partial<Record<ValueType, number>> = {};
  for (const [type, count] of Object.entries(typeTotals) as Array<[ValueType, number]>) {
    if (count > 0) dataTypeDistribution[type] = round(count / totalValues);
  }
  const rate = eventRate(input);
  const dcp: Dcp = {
    dataTypeDistribution,
    cardinality,
    volume: {
      avg_record_size: input.records === 0 ? 0 : round(input.bytes / input.records, 2),
      records_per_second: round(rate.recordsPerSecond, 6),
      rate_source: rate.source,
      records: input.records,
      bytes: input.bytes,
    },
    schema_evolution_probability: round(input.windows.probability),
    data_quality_score: round(q.score),
    quality: {
      completeness: round(q.completeness),
      validity: round(q.validity),
      consistency: round(q.consistency),
    },
    schema: {
      window_size: input.windowSize,
      windows: input.windows.windows,
      changes: input.windows.changes,
    },
    fields,
  };
  if (rate.field !== undefined) dcp.volume.time_field = rate.field;
  if (input.overflowFields > 0) dcp.overflow_values = input.overflowFields;
  if (input.malformed.count > 0)
    dcp.malformed = { count: input.malformed.count, examples: [...input.malformed.examples] };
  return dcp;
}
