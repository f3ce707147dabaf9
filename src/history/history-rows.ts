import type { FunctionObservation, RunRecord } from './history-store.js';

/**
 * What both history implementations store per row: the filter columns as columns,
 * the whole document as JSON (so fields added to RunRecord or FunctionObservation
 * later round-trip without a migration).
 */
export interface RunRow {
  tenant: string;
  execution_id: string;
  template: string;
  template_fingerprint: string;
  recorded_at: string;
  sort_at: string;
  outcome: string;
  document: string;
}

/** One observation row; see {@link RunRow}. */
export interface ObservationRow {
  tenant: string;
  execution_id: string;
  template: string;
  /** The run's template fingerprint. */
  template_fingerprint: string;
  node_id: string;
  function_fingerprint: string | null;
  sort_at: string;
  document: string;
}

/**
 * A sortable UTC form of a timestamp: ISO strings with other offsets or precisions
 * would not sort as text. An unparseable value sorts as itself.
 */
export function sortKey(recordedAt: string): string {
  const time = Date.parse(recordedAt);
  return Number.isNaN(time) ? recordedAt : new Date(time).toISOString();
}

/** The row of a run. */
export function runRow(run: RunRecord): RunRow {
  return {
    tenant: run.tenant,
    execution_id: run.execution_id,
    template: run.template,
    template_fingerprint: run.template_fingerprint,
    recorded_at: run.recorded_at,
    sort_at: sortKey(run.recorded_at),
    outcome: run.status.outcome,
    document: JSON.stringify(run),
  };
}

/** The row of an observation; its tenant and template fingerprint are its run's. */
export function observationRow(
  run: Pick<RunRecord, 'tenant' | 'template_fingerprint'>,
  observation: FunctionObservation,
): ObservationRow {
  return {
    tenant: run.tenant,
    execution_id: observation.execution_id,
    template: observation.template,
    template_fingerprint: run.template_fingerprint,
    node_id: observation.node_id,
    function_fingerprint: observation.function_fingerprint,
    sort_at: sortKey(observation.recorded_at),
    document: JSON.stringify(observation),
  };
}

/** Filters of `HistoryStore.runs`, the ones that become SQL conditions. */
export const RUN_FILTERS = ['tenant', 'template', 'template_fingerprint'] as const;

/** Filters of `HistoryStore.observations`, the ones that become SQL conditions. */
export const OBSERVATION_FILTERS = [
  'tenant',
  'template',
  'template_fingerprint',
  'node_id',
  'function_fingerprint',
] as const;

/**
 * Builds ` WHERE a = ? AND b = ?` (or `$1`, `$2` … for PostgreSQL) from the defined
 * filters. Column names come from a fixed list, values are bound parameters.
 */
export function whereClause(
  filter: Partial<Record<string, string | number | undefined>>,
  columns: readonly string[],
  placeholder: (index: number) => string,
): { sql: string; values: Array<string | number> } {
  const parts: string[] = [];
  const values: Array<string | number> = [];
  for (const column of columns) {
    const value = filter[column];
    if (value === undefined) continue;
    values.push(value);
    parts.push(`${column} = ${placeholder(values.length)}`);
  }
  return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, values };
}

/** A limit as a safe non-negative integer, or undefined for none. */
export function safeLimit(limit: number | undefined): number | undefined {
  if (limit === undefined || !Number.isFinite(limit)) return undefined;
  return Math.max(0, Math.floor(limit));
}
