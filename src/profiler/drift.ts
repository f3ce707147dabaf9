import type { Dcp } from './dcp.js';

/** What moved between the DCP the RPRs were made from and the live window. */
export type DriftKind = 'rate' | 'record_size' | 'new_fields' | 'cardinality' | 'quality';

/** A drift event: the live window moved away from the baseline DCP, with both values. */
export interface DriftEvent {
  event: 'drift';
  kind: DriftKind;
  stream: string;
  /** For `cardinality`: the key field. */
  field?: string;
  baseline: number | string[];
  live: number | string[];
  /** ISO time it was seen. */
  at: string;
}

/** How far is too far (defaults: rate ×2, record size ×1.5, cardinality ×2, quality −0.1). */
export interface DriftThresholds {
  rateFactor?: number;
  sizeFactor?: number;
  cardinalityFactor?: number;
  qualityDrop?: number;
  /** Records the window needs before it is compared (default 100). */
  minRecords?: number;
}

function beyond(a: number, b: number, factor: number): boolean {
  if (!(a > 0) || !(b > 0)) return false;
  return Math.max(a, b) / Math.min(a, b) >= factor;
}

/**
 * Compares a live window with the baseline DCP: records per second or average record size
 * beyond a factor, fields the baseline never saw, the distinct count of a key field beyond
 * a factor, or a data quality score that dropped. Returns one event per kind (and key).
 */
export function detectDrift(
  stream: string,
  baseline: Dcp,
  live: Dcp,
  keyFields: readonly string[] = [],
  thresholds: DriftThresholds = {},
  now = new Date(),
): DriftEvent[] {
  if (live.volume.records < (thresholds.minRecords ?? 100) || baseline.volume.records === 0)
    return [];
  const at = now.toISOString();
  const events: DriftEvent[] = [];
  const base = { stream, at, event: 'drift' as const };
  const b = baseline.volume;
  const l = live.volume;
  if (
    b.rate_source !== 'none' &&
    beyond(b.records_per_second, l.records_per_second, thresholds.rateFactor ?? 2)
  )
    events.push({
      ...base,
      kind: 'rate',
      baseline: b.records_per_second,
      live: l.records_per_second,
    });
  if (beyond(b.avg_record_size, l.avg_record_size, thresholds.sizeFactor ?? 1.5))
    events.push({
      ...base,
      kind: 'record_size',
      baseline: b.avg_record_size,
      live: l.avg_record_size,
    });
  const known = new Set(Object.keys(baseline.fields));
  const added = Object.keys(live.fields).filter((f) => !known.has(f));
  if (added.length > 0)
    events.push({ ...base, kind: 'new_fields', baseline: [...known].sort(), live: added.sort() });
  for (const field of keyFields) {
    const was = baseline.cardinality[field];
    const is = live.cardinality[field];
    if (was !== undefined && is !== undefined && beyond(was, is, thresholds.cardinalityFactor ?? 2))
      events.push({ ...base, kind: 'cardinality', field, baseline: was, live: is });
  }
  if (baseline.data_quality_score - live.data_quality_score >= (thresholds.qualityDrop ?? 0.1))
    events.push({
      ...base,
      kind: 'quality',
      baseline: baseline.data_quality_score,
      live: live.data_quality_score,
    });
  return events;
}
