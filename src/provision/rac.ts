import type { Rpr } from '../predictor/rpr.js';

/** Lifecycle of a provisioned resource. */
export type ResourceStatus =
  'provisioning' | 'ready' | 'claimed' | 'unhealthy' | 'failed' | 'released';

/**
 * The Resource Allocation Confirmation: one per provisioned resource.
 * `resource_id`, `status`, `network_address` are the spec's names and fixed.
 */
export interface Rac {
  resource_id: string;
  status: ResourceStatus;
  /** `host:port` where the worker listens (loopback locally, pod IP on Kubernetes). */
  network_address: string;
  /** The template node (or chained group of nodes, joined by `+`) this resource serves. */
  node_id: string;
  /** Every template node id this resource serves. */
  node_ids: string[];
  template: string;
  tenant: string;
  provider: string;
  /** ISO time the resource became ready, null while not ready. */
  ready_at: string | null;
  /** The request it was provisioned from. */
  rpr: Rpr;
  /** Local provider only: the worker's process id (for clean-up after an orchestrator restart). */
  process_id?: number;
  /** Local provider with exclusive CPU pinning only: the CPUs this resource has to itself. */
  cpus?: number[];
}
