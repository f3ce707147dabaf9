import type { HistoryStore, RunRecord } from './history-store.js';
import { resourceMemoryRequestGb } from '../execute/resource-request.js';

/** Predicted against measured usage of one node in one run. */
export interface HistoryNodeReport {
  node_id: string;
  kind: string;
  predicted: {
    cpu_cores: number | null;
    memory_gb: number | null;
    /** Where the prediction's per-record costs came from (`calibration`, `history`, …). */
    basis: string | null;
  };
  measured: {
    records_in: number;
    records_out: number;
    dead_lettered: number;
    cpu_seconds: number;
    cpu_us_per_record: number;
    /** CPU seconds over the run's wall time: the cores the node kept busy on average. */
    cores_used: number;
    peak_memory_bytes: number;
    records_per_s: number;
  };
  /**
   * Measured peak memory over the memory requested for the node's resource (the sum of the RPRs
   * of the nodes sharing it; above 1: under-provisioned); null without a prediction.
   */
  memory_ratio: number | null;
}

/** One past run as `warmflow history` shows it. */
export interface HistoryRunReport {
  execution_id: string;
  tenant: string;
  template: string;
  recorded_at: string;
  outcome: string;
  provisioning: string;
  total_ms: number;
  request_to_first_record_ms: number | null;
  records: { in: number; out: number; dead_lettered: number };
  nodes: HistoryNodeReport[];
}

/**
 * Past runs, newest first, with per node the RPR it ran on next to what it used.
 * Nodes are those with code or a prediction (function nodes, and any node that had an RPR).
 */
export async function historyReport(
  history: HistoryStore,
  filter: { template?: string; tenant?: string; limit?: number } = {},
): Promise<HistoryRunReport[]> {
  const runs = await history.runs(filter);
  return runs.map(runReport);
}

/** The report of one run record. */
export function runReport(run: RunRecord): HistoryRunReport {
  const status = run.status;
  const seconds = Math.max(status.timings.total_ms, 1) / 1000;
  // Each node with its RPR (the run's, for a status recorded without it).
  const withRprs = status.nodes.map((node) => ({
    ...node,
    rpr: node.rpr ?? run.rprs.find((r) => r.node_id === node.node_id) ?? null,
  }));
  const nodes = status.nodes
    .map((node) => ({
      node,
      rpr: node.rpr ?? run.rprs.find((r) => r.node_id === node.node_id) ?? null,
    }))
    .filter(({ node, rpr }) => node.kind === 'function' || rpr !== null)
    .map(({ node, rpr }) => ({
      node_id: node.node_id,
      kind: node.kind,
      predicted: {
        cpu_cores: rpr?.cpu_cores ?? null,
        memory_gb: rpr?.memory_gb ?? null,
        basis: rpr?.reasoning?.basis ?? null,
      },
      measured: {
        records_in: node.records_in,
        records_out: node.records_out,
        dead_lettered: node.dead_lettered,
        cpu_seconds: node.cpu_seconds,
        cpu_us_per_record: node.cpu_us_per_record,
        cores_used: node.cpu_seconds / seconds,
        peak_memory_bytes: node.peak_memory_bytes,
        records_per_s: node.records_per_s,
      },
      // The peak is the resource's: compared with what the whole resource requested.
      memory_ratio: memoryRatio(withRprs, node.node_id),
    }));
  return {
    execution_id: run.execution_id,
    tenant: run.tenant,
    template: run.template,
    recorded_at: run.recorded_at,
    outcome: status.outcome,
    provisioning: status.provisioning,
    total_ms: status.timings.total_ms,
    request_to_first_record_ms: status.timings.request_to_first_record_ms,
    records: status.records,
    nodes,
  };
}

/** Peak memory over the memory requested for the node's whole resource; null without an RPR. */
function memoryRatio(nodes: RunRecord['status']['nodes'], nodeId: string): number | null {
  const node = nodes.find((n) => n.node_id === nodeId)!;
  const requested = resourceMemoryRequestGb(nodes, node);
  return requested !== null && requested > 0
    ? node.peak_memory_bytes / (requested * 2 ** 30)
    : null;
}
