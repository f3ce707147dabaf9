import type { ValueType } from './dcp.js';

/**
 * What a user declares about a field, checked while profiling; values breaking it
 * count against the field's validity in the data quality score. Undeclared fields are
 * checked against their inferred type only.
 *
 * ```ts
 * profile('orders.jsonl', { expect: { amount: { type: 'float', min: 0 }, email: { pattern: '^[^@]+@[^@]+$' } } });
 * ```
 */
export interface FieldExpectation {
  /** Expected type of non-null values (`integer` values also satisfy `float`). */
  type?: ValueType;
  /** Inclusive bounds for numeric values. */
  min?: number;
  max?: number;
  /** A regular expression string values must match. */
  pattern?: string;
  /** Whether null is allowed (default true); a null in a non-nullable field is invalid. */
  nullable?: boolean;
}

/** A compiled expectation: one function answering "is this value valid?" for non-type rules. */
export type ConstraintCheck = (value: unknown) => boolean;

/** Compiles the value constraints of an expectation (type is checked from counts). */
export function compileConstraints(expectation: FieldExpectation): ConstraintCheck | undefined {
  const { min, max, pattern, nullable } = expectation;
  if (min === undefined && max === undefined && pattern === undefined && nullable !== false)
    return undefined;
  const regex = pattern === undefined ? undefined : new RegExp(pattern);
  return (value) => {
    if (value === null || value === undefined) return nullable !== false;
    if (typeof value === 'number') {
      if (min !== undefined && value < min) return false;
      if (max !== undefined && value > max) return false;
    }
    if (regex !== undefined && typeof value === 'string' && !regex.test(value)) return false;
    return true;
  };
}

/**
 * The expectations of a flow's declared field types (`types.T.fields`): values of another
 * type count against the field's validity. `number` accepts integers and floats, `date`
 * is a string (as JSON carries dates).
 */
export function expectationsOf(fields: Record<string, string>): Record<string, FieldExpectation> {
  const expect: Record<string, FieldExpectation> = {};
  for (const [field, declared] of Object.entries(fields)) {
    const type: ValueType | undefined =
      declared === 'number' || declared === 'float'
        ? 'float'
        : declared === 'date'
          ? 'string'
          : (['string', 'integer', 'boolean', 'object', 'array'] as const).find(
              (t) => t === declared,
            );
    if (type !== undefined) expect[field] = { type };
  }
  return expect;
}
