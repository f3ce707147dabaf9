import type { FunctionObservation, PastRun, PastRuns } from './past-runs.js';

/**
 * How much a past run of a node counts, by how alike its flow is to this one:
 *
 * - `own` (1): the same dataflow — same template fingerprint (shape: nodes, types, keys,
 *   stores, edges; not its name), same node, same function code (or neither has code);
 * - `same_code` (0.5): a similar dataflow running the same function code (same
 *   `function_fingerprint`) in another shape — other data reaches it;
 * - `same_shape` (0.25): a similar dataflow of the same shape whose function at this node
 *   has other code — usually an earlier version of this very flow.
 *
 * A flow that merely shares this one's name and neither its shape nor its code is not
 * similar and contributes nothing.
 */
export const SIMILARITY_WEIGHTS = { own: 1, same_code: 0.5, same_shape: 0.25 } as const;

/** What history says about one node, gathered once per prediction. */
export interface NodeHistory {
  /** Runs of the node in the same dataflow (same shape, same code), newest first. */
  own: FunctionObservation[];
  /** Runs of the same function code in dataflows of another shape, newest first. */
  shared: FunctionObservation[];
  /** Runs of the node in dataflows of the same shape whose code differs, newest first. */
  sameShape: FunctionObservation[];
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
  /**
   * Whether some of its runs shared a resource with other nodes: their peak memory was
   * the resource's, and has been split evenly over the resource's function nodes.
   */
  apportioned: boolean;
}

/** Options of {@link gatherHistory}. */
export interface GatherOptions {
  /** The template's fingerprint (`templateFingerprint`): runs are matched by it, not by name. */
  templateFingerprint: string;
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
  history: PastRuns,
  options: GatherOptions,
): Promise<Map<string, NodeHistory>> {
  const limit = options.limit ?? 50;
  const tenant = options.tenant === undefined ? {} : { tenant: options.tenant };
  const shape = { template_fingerprint: options.templateFingerprint };
  const runs = await history.runs({ ...tenant, ...shape, limit: 20 });
  const out = new Map<string, NodeHistory>();
  const byId = new Map(runs.map((r) => [r.execution_id, r]));
  const runOf = async (id: string): Promise<PastRun | undefined> => {
    if (!byId.has(id)) {
      const run = await history.run(id);
      if (run) byId.set(id, run);
    }
    return byId.get(id);
  };
  for (const [nodeId, fingerprint] of options.fingerprints) {
    let apportioned = false;
    const apportion = async (list: FunctionObservation[]): Promise<FunctionObservation[]> => {
      const out: FunctionObservation[] = [];
      for (const o of list) {
        const share = colocatedShare(await runOf(o.execution_id), o.node_id);
        if (share < 1) apportioned = true;
        out.push(share < 1 ? { ...o, peak_memory_bytes: o.peak_memory_bytes * share } : o);
      }
      return out;
    };
    const here = await apportion(
      await history.observations({ ...tenant, ...shape, node_id: nodeId, limit }),
    );
    const own = here.filter((o) => o.function_fingerprint === fingerprint);
    const sameShape = here.filter((o) => o.function_fingerprint !== fingerprint);
    const shared =
      fingerprint === null
        ? []
        : await apportion(
            (
              await history.observations({ ...tenant, function_fingerprint: fingerprint, limit })
            ).filter(
              (o) =>
                o.template_fingerprint !== options.templateFingerprint &&
                // (observations recorded before the field was kept lack it in their document)
                !here.some((h) => h.execution_id === o.execution_id),
            ),
          );
    const entry: NodeHistory = { own, shared, sameShape, apportioned };
    const last = lastUsage(runs[0], nodeId, own);
    if (last) entry.last = last;
    const oom = oomMemory(runs, own, nodeId);
    if (oom !== undefined) entry.oom_memory_gb = oom;
    out.set(nodeId, entry);
  }
  return out;
}

function lastUsage(
  run: PastRun | undefined,
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
    peak_memory_bytes: node.peak_memory_bytes * colocatedShare(run, nodeId),
    cores_used: node.cpu_seconds / seconds,
    memory_gb: rpr?.memory_gb ?? null,
    key_cardinality: observation?.key_cardinality ?? node.state_keys ?? null,
    records_in: node.records_in,
  };
}

function oomMemory(
  runs: PastRun[],
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

/**
 * This node's share of its resource in a run: 1 when it ran alone; when the engine
 * co-located several nodes on one resource (same `resource_id`), each reports the
 * resource's peak, which is split evenly over its function nodes, so that the per-node
 * predictions the pool sums add up to what the resource used. Evenly, not by the RPRs the
 * run had: those came from the previous prediction, and a node predicted larger would
 * learn a larger share, be predicted larger still, and so on (seen: 1.4 GiB for a node
 * of a 210 MiB resource after five runs).
 */
export function colocatedShare(run: PastRun | undefined, nodeId: string): number {
  const me = run?.status.nodes.find((n) => n.node_id === nodeId);
  if (run === undefined || me === undefined || me.resource_id === null) return 1;
  // Only function nodes learn from history, so the resource is split among them alone.
  const group = run.status.nodes.filter(
    (n) => n.resource_id === me.resource_id && n.kind === me.kind,
  );
  return group.length <= 1 ? 1 : 1 / group.length;
}
