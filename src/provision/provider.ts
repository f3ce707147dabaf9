import type { Rpr } from '../predictor/rpr.js';
import type { Rac } from './rac.js';
import type { ResourceUsage, WarmSpec } from '../worker/worker-contract.js';

export type { ResourceUsage, WarmSpec } from '../worker/worker-contract.js';

/** Everything a provider needs to create one resource. */
export interface ProvisionRequest {
  tenant: string;
  template: string;
  /** The (possibly merged) request; `node_ids` lists every node it serves. */
  rpr: Rpr;
  node_ids: string[];
  warm: WarmSpec;
  /** The pool's per-tenant token every connection to the worker must present. */
  token: string;
}

/** What a provider can still give. */
export interface Capacity {
  cpu_cores: number;
  memory_gb: number;
  gpus: number;
  /** What is already promised to live resources. */
  allocated: { cpu_cores: number; memory_gb: number; gpus: number };
}

export type ResourceEvent =
  | { type: 'ready'; rac: Rac }
  | { type: 'usage'; resource_id: string; usage: ResourceUsage }
  | { type: 'unhealthy'; resource_id: string; reason: string }
  | { type: 'exited'; resource_id: string; reason: string; oom_killed: boolean };

/**
 * The provider contract: speaks in resources, not processes or pods. The local
 * provider runs worker processes; the Kubernetes provider runs pods. Callers (the
 * pools, the pre-provisioning service) must not depend on which.
 */
export interface Provider {
  readonly name: string;
  /** Total and allocated capacity; a request beyond it is refused, never over-committed. */
  capacity(): Promise<Capacity>;
  /** Creates a resource and resolves with its RAC once it is ready (status "ready"). */
  provision(request: ProvisionRequest, options?: { signal?: AbortSignal }): Promise<Rac>;
  /** Stops a resource and frees what it held. Idempotent. */
  release(resourceId: string): Promise<void>;
  /** Resources this provider holds (optionally one tenant's / template's). */
  list(filter?: { tenant?: string; template?: string }): Promise<Rac[]>;
  /** Subscribes to health, usage and exit events; returns the unsubscribe function. */
  watch(listener: (event: ResourceEvent) => void): () => void;
  /** Releases everything and stops watching. */
  close(): Promise<void>;
}
