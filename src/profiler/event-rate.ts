import type { FieldState } from './field-state.js';

/** How `records_per_second` was found. */
export interface EventRate {
  recordsPerSecond: number;
  source: 'event_time' | 'arrival' | 'none';
  field?: string;
}

/** Names that say "this is when it happened". */
const TIME_NAME =
  /(^|[._\-\s[\]])(ts|time|timestamp|datetime|date|epoch|created|updated|event[._-]?time)$|_at$|[a-z]At$/i;

/** The field's event-time range in ms and how many values span it, if it has one. */
function timeRange(
  field: FieldState,
  strict: boolean,
): { min: number; max: number; n: number } | undefined {
  if (field.dateCount >= 2) return { min: field.dateMin, max: field.dateMax, n: field.dateCount };
  const numbers = field.integers + field.floats;
  if (numbers < 2) return undefined;
  // Epoch seconds or milliseconds: told apart by magnitude (1e11 s is the year 5138).
  const ms = field.numMax > 1e11;
  if (strict) {
    const plausible = ms
      ? field.numMin >= 1e11 && field.numMax < 1e13
      : field.numMin >= 1e8 && field.numMax < 1e10;
    if (!plausible) return undefined;
  }
  const scale = ms ? 1 : 1000;
  return { min: field.numMin * scale, max: field.numMax * scale, n: numbers };
}

function rate(range: { min: number; max: number; n: number }): number {
  const seconds = (range.max - range.min) / 1000;
  return seconds > 0 ? (range.n - 1) / seconds : 0;
}

/**
 * Records per second: from the declared time field; else from arrival times (a live
 * source); else from a field that is clearly an event time: nearly all of its values
 * are dates (or epoch numbers under a time-like name) in nearly all records, and it is
 * the only such field, or the only one with a time-like name. Otherwise none (0).
 */
export function eventRate(input: {
  config: { timeField?: string | undefined };
  fields: readonly FieldState[];
  records: number;
  arrivals: { count: number; min: number; max: number };
}): EventRate {
  const declared = input.config.timeField;
  if (declared !== undefined) {
    const field = input.fields.find((f) => f.path === declared);
    const range = field === undefined ? undefined : timeRange(field, false);
    if (range === undefined) return { recordsPerSecond: 0, source: 'none', field: declared };
    return { recordsPerSecond: rate(range), source: 'event_time', field: declared };
  }
  if (input.arrivals.count >= 2) {
    return {
      recordsPerSecond: rate({ ...input.arrivals, n: input.arrivals.count }),
      source: 'arrival',
    };
  }
  const candidates: FieldState[] = [];
  for (const field of input.fields) {
    const nonNull = field.present - field.nulls;
    if (nonNull < 2 || nonNull < 0.9 * input.records) continue;
    const dates = field.dateCount >= 0.99 * nonNull && field.dateMax > field.dateMin;
    const numeric =
      field.integers + field.floats === nonNull &&
      TIME_NAME.test(field.path) &&
      timeRange(field, true);
    if (dates || numeric) candidates.push(field);
  }
  const named = candidates.filter((f) => TIME_NAME.test(f.path));
  const chosen =
    candidates.length === 1 ? candidates[0] : named.length === 1 ? named[0] : undefined;
  const range = chosen === undefined ? undefined : timeRange(chosen, true);
  if (chosen === undefined || range === undefined) return { recordsPerSecond: 0, source: 'none' };
  return { recordsPerSecond: rate(range), source: 'event_time', field: chosen.path };
}
