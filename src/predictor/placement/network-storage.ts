import type { StoreKind, StoreSpec, Template, TemplateNode } from '../../template/types.js';
import type { NodePrediction } from '../prediction.js';
import type { NodeRates } from '../rates/dag-rates.js';
import type { Rpr } from '../rpr.js';

/** Where a node's data lives: in its process, on its resource's disk, or in a store reached over the network. */
export type StorageType = 'memory' | 'local_disk' | 'network_store';

/** The storage type of a store kind (`undefined`: no store — a JSONL sink file for writes). */
export function storageTypeOf(
  kind: StoreKind | undefined,
  node: Pick<TemplateNode, 'kind'>,
): StorageType {
  switch (kind) {
    case 'memory':
      return 'memory';
    case 'sqlite':
      return 'local_disk';
    case 'redis':
    case 'postgres':
    case 'nats':
    case 'redis-stream':
      return 'network_store';
    case undefined:
      // Unplaced writes go to JSONL files; everything else without a store is held in process.
      return node.kind === 'write' ? 'local_disk' : 'memory';
  }
}

/** Bytes a node moves across a boundary per second, and which boundaries. */
export interface NodeTraffic {
  bytes_per_second: number;
  /** `stream -> resource`, `store X -> resource`, `resource -> sink`, `node a -> b` (another resource), `state in X`. */
  crossings: string[];
}

/** What {@link nodeTraffic} needs besides the rates. */
export interface TrafficContext {
  template: Template;
  /** Placement groups (one resource each); a node in none is alone. */
  groups: readonly string[][];
  /** Storage type of each node's store (its RPR's `data_store_instance`). */
  storage: ReadonlyMap<string, StorageType>;
  /** Keyed functions whose state is in a store: bytes read and written per state access. */
  stateBytesPerAccess?: ReadonlyMap<string, number>;
}

/**
 * Bytes per second a node's records move across resource and store boundaries: a source's
 * records entering its resource (from a stream through the orchestrator, or a file it reads);
 * a read node's from a store outside the process; a write node's to a store or to the
 * orchestrator's sink files; a function's records from or to a node on another resource;
 * and a keyed function's state in a store outside the process (a read and a write per
 * record). Records between nodes of one resource, and between its threads, cross nothing.
 */
export function nodeTraffic(
  node: TemplateNode,
  rates: ReadonlyMap<string, NodeRates>,
  ctx: TrafficContext,
): NodeTraffic {
  const own = rates.get(node.id);
  if (own === undefined) return { bytes_per_second: 0, crossings: [] };
  const storage = ctx.storage.get(node.id) ?? 'memory';
  const inBytes = own.input_rate * own.input_record_size;
  const outBytes = own.output_rate * own.output_record_size;
  const group = ctx.groups.find((g) => g.includes(node.id));
  const apart = (other: string): boolean => group === undefined || !group.includes(other);
  switch (node.kind) {
    case 'source':
      return { bytes_per_second: outBytes, crossings: ['stream -> resource'] };
    case 'read':
      return storage === 'memory'
        ? { bytes_per_second: 0, crossings: [] }
        : {
            bytes_per_second: Math.max(inBytes, outBytes),
            crossings: [`store (${storage}) -> resource`],
          };
    case 'write':
      return storage === 'memory'
        ? { bytes_per_second: 0, crossings: [] }
        : {
            bytes_per_second: inBytes,
            crossings: [`resource -> ${storage === 'local_disk' ? 'sink file' : 'store'}`],
          };
    case 'function': {
      let bytes = 0;
      const crossings: string[] = [];
      const producers = ctx.template.edges.filter((e) => e.to === node.id && apart(e.from));
      for (const edge of producers) {
        const from = rates.get(edge.from);
        const feeders = ctx.template.edges.filter((e) => e.from === edge.from).length;
        if (from === undefined) continue;
        // A producer's output is split evenly over what it feeds (as the rates are).
        bytes += (from.output_rate * from.output_record_size) / Math.max(1, feeders);
        crossings.push(`node ${edge.from} -> ${node.id}`);
      }
      const consumers = ctx.template.edges.filter((e) => e.from === node.id && apart(e.to));
      const fanOut = ctx.template.edges.filter((e) => e.from === node.id).length;
      for (const edge of consumers) {
        bytes += outBytes / Math.max(1, fanOut);
        crossings.push(`node ${node.id} -> ${edge.to}`);
      }
      const perAccess = ctx.stateBytesPerAccess?.get(node.id);
      if (node.key !== undefined && storage === 'network_store' && perAccess !== undefined) {
        bytes += 2 * own.input_rate * perAccess;
        crossings.push('state in a network store');
      }
      return { bytes_per_second: bytes, crossings };
    }
  }
}

/** Bytes per second as megabits per second, rounded up to 0.001 (0 stays 0). */
export function toMbps(bytesPerSecond: number): number {
  const mbps = (Math.max(0, bytesPerSecond) * 8) / 1e6;
  return mbps === 0 ? 0 : Math.ceil(mbps * 1000 - 1e-9) / 1000;
}

/** What {@link withNetworkAndStorage} needs about the flow. */
export interface NetworkStorageInput {
  template: Template;
  groups: readonly string[][];
  catalogue: Record<string, StoreSpec>;
  rates: ReadonlyMap<string, NodeRates>;
}

/**
 * Each node's RPR with `network_bandwidth_mbps` and `storage_type` (new RPRs: documents are
 * not changed once made). Storage follows the store chosen for the node (its
 * `data_store_instance`): `memory` in process (a stateless function, state kept in the
 * thread), `local_disk` (SQLite, the JSONL sink files), `network_store` (Redis, PostgreSQL,
 * NATS, Redis Streams); `storage_bytes` is what it keeps there over the run (a keyed node's
 * state, a write node's records). Bandwidth is {@link nodeTraffic} in Mbit/s.
 */
export function withNetworkAndStorage(
  nodes: readonly NodePrediction[],
  input: NetworkStorageInput,
): Rpr[] {
  const storage = new Map<string, StorageType>();
  const kinds = new Map<string, StoreKind | undefined>();
  for (const n of nodes) {
    const node = input.template.nodes.find((t) => t.id === n.node_id)!;
    const name = n.rpr.data_store_instance;
    const kind = name === null ? undefined : input.catalogue[name]?.kind;
    kinds.set(n.node_id, kind);
    storage.set(n.node_id, storageTypeOf(kind, node));
  }
  const stateBytesPerAccess = new Map(
    nodes.filter((n) => n.key !== undefined).map((n) => [n.node_id, n.model.memory_per_key_bytes]),
  );
  const ctx: TrafficContext = {
    template: input.template,
    groups: input.groups,
    storage,
    stateBytesPerAccess,
  };
  return nodes.map((n) => {
    const node = input.template.nodes.find((t) => t.id === n.node_id)!;
    const traffic = nodeTraffic(node, input.rates, ctx);
    const type = storage.get(n.node_id)!;
    const kind = kinds.get(n.node_id);
    const bytes =
      n.key !== undefined
        ? n.model.memory_per_key_bytes * n.key.keys
        : node.kind === 'write'
          ? n.run_records * n.rates.input_record_size
          : 0;
    const where =
      kind !== undefined
        ? `store "${n.rpr.data_store_instance}" (${kind})`
        : node.kind === 'write'
          ? 'the JSONL sink files'
          : n.key !== undefined
            ? "the thread's memory (keyed state)"
            : 'nothing kept (stateless)';
    return {
      ...n.rpr,
      network_bandwidth_mbps: toMbps(traffic.bytes_per_second),
      storage_type: type,
      reasoning: {
        ...(n.rpr.reasoning ?? { basis: 'rule' }),
        network: {
          bytes_per_second: Math.round(traffic.bytes_per_second),
          crossings: traffic.crossings,
        },
        storage_reason: `${type}: ${where}`,
        ...(bytes > 0 ? { storage_bytes: Math.round(bytes) } : {}),
      },
    };
  });
}
