import {
  nodeTraffic,
  storageTypeOf,
  toMbps,
  type StorageType,
} from '../predictor/placement/network-storage.js';
import type { NodeRates } from '../predictor/rates/dag-rates.js';
import type { Rpr } from '../predictor/rpr.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { NodeCompletion } from './completion-status.js';
import type { SinkFiles } from './sinks.js';

/**
 * What each node really had of the RPR's `network_bandwidth_mbps` and `storage_type`, set on
 * its completion. Bandwidth follows the prediction's rule (`nodeTraffic`: what crosses a
 * resource or store boundary) on what the run measured: each node's records in and out over
 * the run's time, on the resources the run really placed it on; record sizes are the bytes
 * written where the orchestrator writes them (JSONL sinks, dead letters), else the size the
 * RPR was made for. Storage is the store the node really used (a write node's, a keyed
 * function's state store, or the JSONL sink files).
 */
export function measureTraffic(
  nodes: NodeCompletion[],
  input: {
    flow: LoadedFlow;
    rprs: readonly Rpr[];
    /** The node ids of each resource the run placed. */
    groups: readonly string[][];
    sinks: SinkFiles;
    totalMs: number;
    /** A keyed node's state store when the request named one for all (`state_store`). */
    stateStore?: string;
  },
): void {
  const template = input.flow.template;
  const catalogue = input.flow.spec.stores ?? {};
  const files = input.sinks.snapshot().files;
  const seconds = Math.max(input.totalMs / 1000, 1e-9);
  const predictedSize = (id: string): number => {
    const reasoning = input.rprs.find((r) => r.node_id === id)?.reasoning;
    const size = reasoning?.inputs?.avg_record_size ?? reasoning?.per_record?.bytes;
    return typeof size === 'number' && size > 0 ? size : 0;
  };
  const sizeOf = (id: string): number => {
    const node = template.nodes.find((n) => n.id === id);
    if (node?.kind === 'write' && node.data_store === undefined) {
      const file = files[node.type ?? ''];
      if (file !== undefined && file.records > 0) return file.bytes / file.records;
    }
    return predictedSize(id);
  };
  const rates = new Map<string, NodeRates>();
  const storage = new Map<string, StorageType>();
  for (const n of nodes) {
    const node = template.nodes.find((t) => t.id === n.node_id)!;
    const consumers = template.edges.filter((e) => e.from === n.node_id).map((e) => sizeOf(e.to));
    rates.set(n.node_id, {
      node_id: n.node_id,
      kind: n.kind,
      input_rate: n.records_in / seconds,
      output_rate: n.records_out / seconds,
      input_record_size: sizeOf(n.node_id),
      output_record_size:
        consumers.length > 0
          ? consumers.reduce((sum, s) => sum + s, 0) / consumers.length
          : sizeOf(n.node_id),
      fed_by: [],
    });
    const store =
      node.kind === 'read' || node.kind === 'write'
        ? node.data_store
        : node.key !== undefined
          ? (input.stateStore ?? n.rpr?.data_store_instance ?? undefined)
          : undefined;
    storage.set(
      n.node_id,
      storageTypeOf(store === undefined ? undefined : catalogue[store]?.kind, node),
    );
  }
  for (const n of nodes) {
    const node = template.nodes.find((t) => t.id === n.node_id)!;
    const traffic = nodeTraffic(node, rates, { template, groups: input.groups, storage });
    n.network_bandwidth_mbps = toMbps(traffic.bytes_per_second);
    n.storage_type = storage.get(n.node_id)!;
  }
}
