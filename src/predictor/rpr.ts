import type { StorageType } from './placement/network-storage.js';

/** The Resource Provisioning Request: one per template node. Spec field names are fixed. */
export interface Rpr {
  node_id: string;
  resource_type: 'CPU' | 'GPU';
  /** May be fractional only before rounding; what providers receive is whole or a provider-allowed step. */
  cpu_cores: number;
  memory_gb: number;
  gpu_enabled: boolean;
  /** Name of the store instance (from the flow's catalogue) this node's state or I/O uses; null when none. */
  data_store_instance: string | null;
  /**
   * Megabits per second the node's records move across resource and store boundaries
   * (records/s × record size: a source's into its resource, a write's to its store or sink,
   * records to or from a node on another resource, state in a network store). Optional:
   * RPRs written before it, or by hand, have none.
   */
  network_bandwidth_mbps?: number;
  /** Where the node's data lives: in its process, on local disk, or in a network store. Optional. */
  storage_type?: StorageType;
  /** Extra, not in the spec: why the predictor chose these numbers. */
  reasoning?: RprReasoning;
}

export interface RprReasoning {
  /** Where the per-record costs came from. */
  basis: 'calibration' | 'history' | 'defaults' | 'rule';
  history_runs?: number;
  inputs?: Record<string, number | string>;
  per_record?: { cpu_us: number; bytes: number };
  confidence?: { cpu_cores: [number, number]; memory_gb: [number, number] };
  hourly_cost?: number;
  notes?: string[];
  /** Point estimates before margins and rounding (what benchmarks score against measured runs). */
  estimate?: {
    cpu_us_per_record: number;
    /** Over a whole run of the profiled volume, start-up cost included. */
    cpu_us_per_record_run?: number;
    cores_needed: number;
    peak_memory_bytes: number;
  };
  /** Why `data_store_instance` is what it is. */
  data_store_reason?: string;
  /** Why `gpu_enabled` is what it is. */
  gpu_reason?: string;
  /** What `network_bandwidth_mbps` is made of: bytes per second and the boundaries crossed. */
  network?: { bytes_per_second: number; crossings: string[] };
  /** Why `storage_type` is what it is, and the bytes the node keeps there over the run (state, files). */
  storage_reason?: string;
  storage_bytes?: number;
}
