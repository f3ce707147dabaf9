import { createHash } from 'node:crypto';
import type { FunctionObservation, RunRecord } from './history-store.js';

/** What a CompletionStatus does not say but an observation needs; all optional. */
export interface ObservationExtras {
  /**
   * Node id → the function module's source (file bytes or text). Hashed with sha256
   * into `function_fingerprint`, the same hash the predictor computes from the file.
   */
  moduleSources?: Record<string, string | Uint8Array>;
  /** Node id → a fingerprint computed elsewhere; wins over `moduleSources`. */
  fingerprints?: Record<string, string | null>;
  /** Node id → average input record size in bytes; default the run's DCP `avg_record_size`, else 0. */
  avgRecordSize?: Record<string, number>;
  /** Node id → distinct keys seen; default the node's `state_keys`, else null. */
  keyCardinality?: Record<string, number>;
}

/** sha256 (hex) of a module's source: the `function_fingerprint` of its function. */
export function sourceFingerprint(source: string | Uint8Array): string {
  return createHash('sha256').update(source).digest('hex');
}

/**
 * Derives one {@link FunctionObservation} per function node of a run (read, write and
 * source nodes are not functions and have no code to learn about). CPU per record,
 * peak memory and throughput come from the measured CompletionStatus; cores and memory
 * from the RPR the node ran on (0 when it ran without one); `oom_killed` from the run's
 * `events`.
 *
 * ```ts
 * const run: RunRecord = { ...ids, dcp, rprs, status };
 * await history.record(run, observationsFromStatus(run, { moduleSources: { enrich: await readFile(path) } }));
 * ```
 */
export function observationsFromStatus(
  run: RunRecord,
  extras: ObservationExtras = {},
): FunctionObservation[] {
  const oomKilled = new Set(
    (run.events ?? []).filter((e) => e.event === 'oom_killed').map((e) => e.node_id),
  );
  const defaultSize = run.dcp?.volume.avg_record_size ?? 0;
  return run.status.nodes
    .filter((node) => node.kind === 'function')
    .map((node) => {
      const id = node.node_id;
      const rpr = node.rpr ?? run.rprs.find((r) => r.node_id === id) ?? null;
      const source = extras.moduleSources?.[id];
      const fingerprint =
        extras.fingerprints?.[id] !== undefined
          ? extras.fingerprints[id]
          : source === undefined
            ? null
            : sourceFingerprint(source);
      return {
        execution_id: run.execution_id,
        template: run.template,
        node_id: id,
        function_fingerprint: fingerprint,
        template_fingerprint: run.template_fingerprint,
        recorded_at: run.recorded_at,
        records_in: node.records_in,
        records_out: node.records_out,
        avg_record_size: extras.avgRecordSize?.[id] ?? defaultSize,
        records_per_second: node.records_per_s,
        key_cardinality: extras.keyCardinality?.[id] ?? node.state_keys ?? null,
        cpu_us_per_record: node.cpu_us_per_record,
        peak_memory_bytes: node.peak_memory_bytes,
        cpu_cores: rpr?.cpu_cores ?? 0,
        memory_gb: rpr?.memory_gb ?? 0,
        oom_killed: oomKilled.has(id),
      };
    });
}
