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
}
