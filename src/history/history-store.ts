import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { Dcp } from '../profiler/dcp.js';
import type { Rpr } from '../predictor/rpr.js';
import type { FunctionObservation, PastRuns, RunFilter } from '../predictor/learning/past-runs.js';

export type {
  FunctionObservation,
  ObservationFilter,
  RunFilter,
} from '../predictor/learning/past-runs.js';

/** One past run as history keeps it. */
export interface RunRecord {
  execution_id: string;
  tenant: string;
  template: string;
  /** Stable hash of the template's structure, so renamed flows with the same shape match. */
  template_fingerprint: string;
  recorded_at: string;
  dcp: Dcp | null;
  rprs: Rpr[];
  status: CompletionStatus;
  /** Extra facts observed, e.g. `{ node_id, event: 'oom_killed' }`. */
  events?: Array<{ node_id: string; event: string; detail?: string }>;
  /**
   * The engine calibration this run's prediction used, when it calibrated: later runs
   * that no longer calibrate take it as their prior (see `latestCalibration`).
   */
  calibration?: EngineCalibration;
}

/**
 * The history contract; `history/sqlite/` (embedded default, under WARMFLOW_HOME)
 * and `history/postgres/` implement it and pass one conformance suite.
 */
export interface HistoryStore extends PastRuns {
  record(run: RunRecord, observations: FunctionObservation[]): Promise<void>;
  runs(filter?: RunFilter): Promise<RunRecord[]>;
  run(executionId: string, tenant?: string): Promise<RunRecord | undefined>;
  // `observations` (newest first, by tenant, template, node, fingerprint) is PastRuns'.
  close(): Promise<void>;
}
