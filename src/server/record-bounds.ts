import type { CompletionStatus } from '../execute/completion-status.js';

/** The longest string kept in a stored record (an error message, a stack, a note). */
export const MAX_RECORD_STRING = 8 * 1024;
/** The most items kept of one list in a stored record (drift events, resource events). */
export const MAX_RECORD_LIST = 200;

/**
 * A copy of `value` in which no string is longer than {@link MAX_RECORD_STRING} (the rest is
 * replaced by a note of how much was cut) and no list longer than {@link MAX_RECORD_LIST}
 * (the first ones are kept), so what a run reports — a user function's error message, its
 * stack, a live run's drift events — cannot grow what the server keeps without bound.
 */
export function boundedCopy<T>(value: T): T {
  return bound(value) as T;
}

function bound(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.length <= MAX_RECORD_STRING) return value;
    // A fresh flat copy of the kept part, so the long original can be collected.
    return `${value.slice(0, MAX_RECORD_STRING)}… (${value.length - MAX_RECORD_STRING} more characters not kept)`;
  }
  if (Array.isArray(value)) return value.slice(0, MAX_RECORD_LIST).map(bound);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = bound(item);
    return out;
  }
  return value;
}

/**
 * The smallest honest form of a completion status, kept when the full one does not fit the
 * tenant's `memory_bytes` quota: the outcome, its error, the counts and timings, without the
 * per-node details and the live-stream report.
 */
export function compactCompletion(status: CompletionStatus): CompletionStatus {
  const compact: CompletionStatus = {
    execution_id: status.execution_id,
    template: status.template,
    tenant: status.tenant,
    outcome: status.outcome,
    provisioning: status.provisioning,
    started_at: status.started_at,
    finished_at: status.finished_at,
    timings: status.timings,
    records: status.records,
    dead_letter_file: status.dead_letter_file,
    nodes: [],
  };
  if (status.error !== undefined) compact.error = boundedCopy(status.error);
  return compact;
}
