import type { FunctionObservation, HistoryStore, RunRecord } from '../../history/history-store.js';

/** What history says about one node, gathered once per prediction. */
export interface NodeHistory {
  /** This template's runs of the node, newest first. */
  own: FunctionObservation[];
  /** Runs of the same function code in other templates, newest first. */
  shared: FunctionObservation[];
  /** What the node really used in the template's last run. */
  last?: {
    execution_id: string;
    peak_memory_bytes: number;
    /** cpu_seconds / run seconds: the cores it kept busy on average. */
    cores_used: number;
    memory_gb: number | null;
    key_cardinality: number | null;
    records_in: number;
  };
  /** The largest memory (GiB) the node was given in a run where it was OOM-killed. */
  oom_memory_gb?: number;
}

/** Options of {@link gatherHistory}. */
export interface GatherOptions {
  template: string;
  tenant?: string | undefined;
  /** Node id → function fingerprint (null: no module). */
  fingerprints: Map<string, string | null>;
  /** Observations to read per node (default 50). */
  limit?: number;
}

/**
 * Reads what the predictor needs from history: per node its own observations, those
 * of the same code elsewhere, the last run's real usage and any OOM kill.
 */
export async function gatherHistory(
  history: HistoryStore,
  options: GatherOptions,
): Promise<Map<string, NodeHistory>> {
  const limit = options.limit ?? 50;
  const tenant = options.tenant === undefined ? {} : { tenant: options.tenant };
  const runs = await history.runs({ ...tenant, template: options.template, limit: 20 });
  const out = new Map<string, NodeHistory>();
  for (const [nodeId, fingerprint] of options.fingerprints) {
    const own = await history.observations({
      ...tenant,
      template: options.template,
      node_id: nodeId,
      limit,
    });
    const shared =
      fingerprint === null
        ? []
        : (
            await history.observations({ ...tenant, function_fingerprint: fingerprint, limit })
          ).filter((o) => o.template !== options.template);
    const entry: NodeHistory = { own, shared };
    const last = lastUsage(runs[0], nodeId, own);
    if (last) entry.last = last;
    const oom = oomMemory(runs, own, nodeId);
    if (oom !== undefined) entry.oom_memory_gb = oom;
    out.set(nodeId, entry);
  }
  return out;
}

function lastUsage(
  run: RunRecord | undefined,
  nodeId: string,
  own: FunctionObservation[],
): NodeHistory['last'] {
  const node = run?.status.nodes.find((n) => n.node_id === nodeId);
  if (run === undefined || node === undefined) return undefined;
  const seconds = Math.max(0.001, run.status.timings.total_ms / 1000);
  const observation = own.find((o) => o.execution_id === run.execution_id);
  const rpr = node.rpr ?? run.rprs.find((r) => r.node_id === nodeId) ?? null;
  return {
    execution_id: run.execution_id,
    peak_memory_bytes: node.peak_memory_bytes,
    cores_used: node.cpu_seconds / seconds,
    memory_gb: rpr?.memory_gb ?? null,
    key_cardinality: observation?.key_cardinality ?? node.state_keys ?? null,
    records_in: node.records_in,
  };
}

function oomMemory(
  runs: RunRecord[],
  own: FunctionObservation[],
  nodeId: string,
): number | undefined {
  const given: number[] = own.filter((o) => o.oom_killed).map((o) => o.memory_gb);
  for (const run of runs) {
    if (!run.events?.some((e) => e.node_id === nodeId && e.event === 'oom_killed')) continue;
    const rpr = run.rprs.find((r) => r.node_id === nodeId);
    if (rpr) given.push(rpr.memory_gb);
  }
  return given.length > 0 ? Math.max(...given) : undefined;
}
