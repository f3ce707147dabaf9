import type { StoreSpec, TemplateNode } from '../../template/types.js';

const GiB = 1024 ** 3;

/** Limits {@link chooseStore} decides by. */
export interface PlacementPolicy {
  /** Largest memory one node may be given; state that does not fit beside its base moves out. */
  maxNodeMemoryGb: number;
  /** Values up to this size per key count as small (Redis territory). */
  smallValueBytes: number;
  /** Largest state worth keeping in Redis (it is RAM too). */
  redisMaxGb: number;
  /** State accesses per second above which a network store must be an in-memory one. */
  hotAccessesPerSecond: number;
}

/** Default placement limits: 4 GiB nodes, ≤ 1 KiB values and ≤ 16 GiB in Redis, hot above 5 000 ops/s. */
export const DEFAULT_PLACEMENT: PlacementPolicy = Object.freeze({
  maxNodeMemoryGb: 4,
  smallValueBytes: 1024,
  redisMaxGb: 16,
  hotAccessesPerSecond: 5000,
});

/** What the node's state or I/O needs, and what the node holds besides. */
export interface PlacementInput {
  node: TemplateNode;
  /** An explicit store the flow gives this node (a read/write node's `data_store`, a function's `store`). */
  explicit?: string | undefined;
  /** The flow's default sink for unplaced writes. */
  sink?: string | undefined;
  catalogue: Record<string, StoreSpec>;
  /** Store instances the flow already places types in (not reused for a node's private state). */
  placedTypes?: ReadonlySet<string>;
  keyed: boolean;
  keys: number;
  bytesPerKey: number;
  /** State reads + writes per second. */
  accessesPerSecond: number;
  /** Peak bytes of the node without its state (runtime, buffers). */
  otherBytes: number;
}

/** The chosen instance and why. `in_process` says whether state counts toward the node's memory. */
export interface Placement {
  data_store_instance: string | null;
  in_process: boolean;
  reason: string;
}

/**
 * Chooses where a node's state or I/O lives. An explicit store in the flow always
 * wins. Keyed state stays in process (a `memory` instance of the catalogue that no
 * type is placed in, else the engine's default: `null`) while it fits the node's
 * memory budget; past that it goes to a shared store of the catalogue: Redis for hot
 * or small values that fit its limit, else PostgreSQL, else SQLite.
 */
export function chooseStore(
  input: PlacementInput,
  policy: PlacementPolicy = DEFAULT_PLACEMENT,
): Placement {
  const { node, catalogue } = input;
  if (input.explicit !== undefined) {
    return {
      data_store_instance: input.explicit,
      in_process: false,
      reason: `store "${input.explicit}" is named in the flow`,
    };
  }
  if (node.kind === 'read' || node.kind === 'write') {
    if (node.data_store !== undefined) {
      return {
        data_store_instance: node.data_store,
        in_process: false,
        reason: `type ${node.type} is placed in "${node.data_store}" by the flow`,
      };
    }
    if (node.kind === 'write' && input.sink !== undefined) {
      return {
        data_store_instance: input.sink,
        in_process: false,
        reason: `the flow's default sink "${input.sink}"`,
      };
    }
    return {
      data_store_instance: null,
      in_process: false,
      reason: 'default JSONL output (no store placed)',
    };
  }
  if (!input.keyed)
    return { data_store_instance: null, in_process: false, reason: 'no keyed state' };

  const stateBytes = input.keys * input.bytesPerKey;
  const budget = policy.maxNodeMemoryGb * GiB - input.otherBytes;
  // A memory instance that holds a placed type (a lookup table) is not this node's state.
  const memory = Object.entries(catalogue).find(
    ([name, spec]) => spec.kind === 'memory' && !(input.placedTypes?.has(name) ?? false),
  )?.[0];
  const size = `${input.keys} keys × ${Math.round(input.bytesPerKey)} B = ${formatBytes(stateBytes)}`;
  if (stateBytes <= budget) {
    return {
      data_store_instance: memory ?? null,
      in_process: true,
      reason: `state ${size} fits the node's ${policy.maxNodeMemoryGb} GiB budget: in-process ${memory ? `store "${memory}"` : 'memory (engine default)'}`,
    };
  }
  const redis = firstOfKind(catalogue, 'redis');
  const small = input.bytesPerKey <= policy.smallValueBytes;
  const hot = input.accessesPerSecond >= policy.hotAccessesPerSecond;
  const why = `state ${size} exceeds the node's ${policy.maxNodeMemoryGb} GiB budget`;
  if (redis && (small || hot) && stateBytes <= policy.redisMaxGb * GiB) {
    return {
      data_store_instance: redis,
      in_process: false,
      reason: `${why}; ${small ? 'small values' : 'hot access'} (${Math.round(input.accessesPerSecond)} ops/s) fit Redis "${redis}"`,
    };
  }
  for (const kind of ['postgres', 'sqlite', 'redis'] as const) {
    const name = firstOfKind(catalogue, kind);
    if (name) {
      return {
        data_store_instance: name,
        in_process: false,
        reason: `${why}; large state goes to ${kind} "${name}"`,
      };
    }
  }
  return {
    data_store_instance: memory ?? null,
    in_process: true,
    reason: `${why}, but the catalogue has no shared store: state stays in process and the node gets the memory`,
  };
}

function firstOfKind(
  catalogue: Record<string, StoreSpec>,
  kind: StoreSpec['kind'],
): string | undefined {
  return Object.entries(catalogue).find(([, spec]) => spec.kind === kind)?.[0];
}

/** Bytes in a short human unit. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}
