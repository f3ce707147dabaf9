import type { Rpr } from '../predictor/rpr.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { NodeStats, RunResult } from '../worker/dataplane/deploy-spec.js';
import type { CompletionStatus, NodeCompletion } from './completion-status.js';
import type { FeederStats } from './push-feeder.js';
import type { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';
import type { ResolvedSource } from './sources.js';
import { measureTraffic } from './measured-traffic.js';

const round = (value: number, digits = 6): number =>
  Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Builds the CompletionStatus from what each resource measured.
 *
 * CPU per node: a resource reports the CPU seconds of its whole process during the run
 * (`process.cpuUsage()` is process-wide, so it covers all its threads) and, per node, the
 * time its threads ran inside that node (wall time less their waits for a CPU, see
 * `onCpuMs`); the resource's CPU is split over its nodes in proportion to that time. The
 * rest of the process's CPU (relaying, GC and compiler threads) is thereby shared by
 * the nodes as their own CPU is. Peak memory is the resource's peak RSS during the run
 * (nodes sharing a resource share it). Nodes the orchestrator runs (pushed sources, JSONL
 * sinks) report the time spent there and no resource.
 */
export function completionStatus(input: {
  executionId: string;
  tenant: string;
  flow: LoadedFlow;
  rprs: readonly Rpr[];
  sessions: readonly ResourceSession[];
  results: ReadonlyArray<RunResult | null>;
  feeders: ReadonlyMap<string, FeederStats>;
  sources: readonly ResolvedSource[];
  sinks: SinkFiles;
  requestedAt: number;
  totalMs: number;
  error?: CompletionStatus['error'];
  /** The store every keyed node's state was kept in, when the request named one (`state_store`). */
  stateStore?: string;
  /** Fail the run when a node dead-letters more than this share of its input (default {@link DEFAULT_MAX_DEAD_LETTER_RATIO}). */
  maxDeadLetterRatio?: number;
}): CompletionStatus {
  const { flow, sessions, results, sinks } = input;
  const totalS = Math.max(input.totalMs / 1000, 1e-9);
  const nodes: NodeCompletion[] = flow.template.nodes.map((node) => {
    const at = sessions.findIndex((s) => s.rac.node_ids.includes(node.id));
    const session = at >= 0 ? sessions[at] : undefined;
    const result = at >= 0 ? results[at] : null;
    const rpr = input.rprs.find((r) => r.node_id === node.id) ?? null;
    let stats: NodeStats = result?.nodes[node.id] ?? {
      records_in: 0,
      records_out: 0,
      dead_lettered: 0,
      busy_ms: 0,
    };
    let cpu = 0;
    let onResource = session !== undefined;
    const feeder = input.feeders.get(node.id);
    // A live source's messages are parsed on the resource: its figures are the resource's.
    const parsedThere = input.sources.some((s) => s.node_id === node.id && s.live);
    if (node.kind === 'source' && feeder !== undefined && !parsedThere) {
      const bad = feeder.malformed[0];
      stats = {
        records_in: feeder.records_in,
        records_out: feeder.records_out,
        dead_lettered: feeder.malformed.length,
        busy_ms: feeder.busy_ms,
        ...(bad !== undefined
          ? { first_error: { type: 'SyntaxError', message: `line ${bad.line}: ${bad.error}` } }
          : {}),
      };
      cpu = feeder.busy_ms / 1000;
      onResource = false;
    } else if (node.kind === 'write' && node.data_store === undefined) {
      const written = sinks.counts.get(node.type ?? '') ?? 0;
      stats = { records_in: written, records_out: written, dead_lettered: 0, busy_ms: 0 };
      onResource = false;
    } else if (result !== null && result !== undefined) {
      const busy = Object.values(result.nodes).reduce((sum, s) => sum + s.busy_ms, 0);
      cpu = busy > 0 ? (result.cpu_seconds * stats.busy_ms) / busy : 0;
    }
    const completion: NodeCompletion = {
      node_id: node.id,
      kind: node.kind,
      records_in: stats.records_in,
      records_out: stats.records_out,
      dead_lettered: stats.dead_lettered,
      cpu_seconds: round(cpu),
      cpu_us_per_record: stats.records_in > 0 ? round((cpu * 1e6) / stats.records_in, 3) : 0,
      peak_memory_bytes: onResource && result ? result.peak_rss_bytes : 0,
      records_per_s: round(stats.records_in / totalS, 1),
      rpr,
      resource_id: onResource && session ? session.rac.resource_id : null,
      warm: onResource && session ? session.warm : false,
    };
    if (stats.keys !== undefined) completion.state_keys = stats.keys;
    if (stats.first_error !== undefined) completion.first_error = stats.first_error;
    return completion;
  });
  measureTraffic(nodes, {
    flow,
    rprs: input.rprs,
    groups: sessions.map((s) => s.rac.node_ids),
    sinks,
    totalMs: input.totalMs,
    ...(input.stateStore !== undefined ? { stateStore: input.stateStore } : {}),
  });
  const sourceIn = nodes
    .filter((n) => n.kind === 'source')
    .reduce((sum, n) => sum + n.records_in, 0);
  // What reached the outputs: a write node dead-letters a record its store cannot key.
  const written = nodes
    .filter((n) => n.kind === 'write')
    .reduce((sum, n) => sum + n.records_out, 0);
  const dead = nodes.reduce((sum, n) => sum + n.dead_lettered, 0);
  const firsts = [sinks.firstRecordAt, ...sessions.map((s) => s.firstStoreWriteAt)].filter(
    (t): t is number => t !== null,
  );
  const warmCount = sessions.filter((s) => s.warm).length;
  const finishedAt = input.requestedAt + input.totalMs;
  const readyAt = sessions.map((s) => s.readyAt).filter((t): t is number => t !== null);
  const status: CompletionStatus = {
    execution_id: input.executionId,
    template: flow.template.name,
    tenant: input.tenant,
    outcome:
      input.error === undefined
        ? 'succeeded'
        : input.error.code === 'E_CANCELLED'
          ? 'cancelled'
          : 'failed',
    provisioning: warmCount === sessions.length ? 'warm' : warmCount === 0 ? 'on_demand' : 'mixed',
    started_at: new Date(input.requestedAt).toISOString(),
    finished_at: new Date(finishedAt).toISOString(),
    timings: {
      request_to_first_record_ms:
        firsts.length > 0 ? round(Math.min(...firsts) - input.requestedAt, 3) : null,
      request_to_ready_ms:
        readyAt.length > 0
          ? round(Math.max(...readyAt) - input.requestedAt, 3)
          : round(input.totalMs, 3),
      total_ms: round(input.totalMs, 3),
    },
    records: { in: sourceIn, out: written, dead_lettered: dead },
    dead_letter_file: sinks.deadLetterFile,
    outputs: flow.template.nodes
      .filter((n) => n.kind === 'write')
      .map((n) => {
        const type = n.type ?? n.id.slice('write:'.length);
        const records = nodes.find((c) => c.node_id === n.id)?.records_out ?? 0;
        if (n.data_store === undefined)
          return { type, node_id: n.id, records, file: sinks.fileFor(type) };
        const kind = flow.spec.stores?.[n.data_store]?.kind;
        return {
          type,
          node_id: n.id,
          records,
          store: n.data_store,
          ...(kind !== undefined ? { store_kind: kind } : {}),
          key_space: `type/${type}`,
        };
      }),
    nodes,
  };
  const error =
    input.error ??
    deadLetterFailure(nodes, input.maxDeadLetterRatio ?? DEFAULT_MAX_DEAD_LETTER_RATIO);
  if (error !== undefined) {
    status.error = error;
    status.outcome = error.code === 'E_CANCELLED' ? 'cancelled' : 'failed';
  }
  return status;
}

/** The share of a node's input it may dead-letter before the run fails (flow or request setting `max_dead_letter_ratio`). */
export const DEFAULT_MAX_DEAD_LETTER_RATIO = 0.5;

/**
 * The run's failure when a node dead-lettered more than `maxRatio` of its input, or all of
 * it (even with `maxRatio` 1): a run whose function failed on every record did not succeed.
 */
export function deadLetterFailure(
  nodes: readonly NodeCompletion[],
  maxRatio: number,
): CompletionStatus['error'] | undefined {
  for (const node of nodes) {
    const seen = node.records_in;
    if (node.dead_lettered === 0 || seen === 0) continue;
    const ratio = node.dead_lettered / seen;
    if (ratio <= maxRatio && node.dead_lettered < seen) continue;
    const first = node.first_error;
    const percent = Math.round(ratio * 1000) / 10;
    return {
      code: 'E_DEAD_LETTERS',
      node_id: node.node_id,
      message:
        `node "${node.node_id}" dead-lettered ${node.dead_lettered} of ${seen} records (${percent} %, ` +
        (node.dead_lettered === seen
          ? 'all of its input'
          : `above max_dead_letter_ratio ${maxRatio}`) +
        ')' +
        (first !== undefined
          ? `; first error: ${first.type}: ${first.message}${first.location !== undefined ? ` at ${first.location}` : ''}`
          : ''),
    };
  }
  return undefined;
}
