import type { ValueType } from './dcp.js';
import type { FieldState } from './field-state.js';
import type { FieldExpectation } from './field-expectation.js';

/** Completeness and validity of one field. */
export interface FieldQuality {
  completeness: number;
  validity: number;
}

/** The three parts of the data quality score and the score itself. */
export interface QualityParts {
  completeness: number;
  validity: number;
  consistency: number;
  score: number;
  fields: Map<FieldState, FieldQuality>;
}

/** Values of `field` that have the expected type (integers satisfy `float`). */
function matching(field: FieldState, type: ValueType): number {
  switch (type) {
    case 'float':
      return field.integers + field.floats;
    case 'integer':
      return field.integers;
    case 'string':
      return field.strings;
    case 'boolean':
      return field.booleans;
    case 'object':
      return field.objects;
    case 'array':
      return field.arrays;
    case 'null':
      return 0;
  }
}

/**
 * data_quality_score = (completeness + validity + consistency) / 3, where, summed over
 * every field f:
 * - completeness = Σ (present_f − nulls_f) / Σ expected_f, expected_f being the number of
 *   records (top-level fields), of objects at the parent path (nested fields), or of
 *   array elements (`path[]`): a missing or null value is incomplete;
 * - validity = Σ valid_f / Σ checked_f: non-null values of the declared (else inferred)
 *   type that break no declared constraint, over non-null values (plus nulls when the
 *   field is declared non-nullable);
 * - consistency = records with the most common schema fingerprint / records.
 */
export function quality(
  input: {
    fields: readonly FieldState[];
    records: number;
    dominantFingerprint: number;
    config: { expect: Record<string, FieldExpectation> };
  },
  inferred: ReadonlyMap<FieldState, ValueType>,
): QualityParts {
  let filled = 0;
  let expected = 0;
  let valid = 0;
  let checked = 0;
  const fields = new Map<FieldState, FieldQuality>();
  for (const field of input.fields) {
    const nonNull = field.present - field.nulls;
    const expectedHere = field.isElement
      ? field.present
      : field.parent === undefined
        ? input.records
        : field.parent.objects;
    const declared = input.config.expect[field.path];
    const type = declared?.type ?? inferred.get(field) ?? 'null';
    const checkedHere = nonNull + (declared?.nullable === false ? field.nulls : 0);
    const validHere = Math.max(0, matching(field, type) - field.invalid);
    filled += nonNull;
    expected += expectedHere;
    valid += validHere;
    checked += checkedHere;
    fields.set(field, {
      completeness: expectedHere === 0 ? 1 : nonNull / expectedHere,
      validity: checkedHere === 0 ? 1 : validHere / checkedHere,
    });
  }
  const completeness = expected === 0 ? 1 : filled / expected;
  const validity = checked === 0 ? 1 : valid / checked;
  const consistency =
    input.records === 0 ? 1 : Math.min(1, input.dominantFingerprint / input.records);
  return {
    completeness,
    validity,
    consistency,
    score: (completeness + validity + consistency) / 3,
    fields,
  };
}
