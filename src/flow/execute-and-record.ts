import type { CompletionStatus } from '../execute/completion-status.js';
import {
  executeDataflow,
  type ExecutionEnvironment,
  type ExecutionRequest,
} from '../execute/execution-manager.js';
import type { HistoryStore } from '../history/history-store.js';
import { recordRun } from '../history/record-run.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import type { Dcp } from '../profiler/dcp.js';

/** Where {@link executeAndRecord} records the run. */
export interface RecordInto {
  history: HistoryStore;
  /** The profile the RPRs were predicted from (null: none). */
  dcp: Dcp | null;
  /** The engine calibration this run made, kept as the template's prior. */
  calibration?: EngineCalibration;
}

/**
 * The execute and record stages of the pipeline: runs the request through the execution
 * manager (warm claim, else on demand) and records the run, whatever its outcome, into
 * history so the predictor learns from it.
 */
export async function executeAndRecord(
  request: ExecutionRequest,
  env: ExecutionEnvironment,
  record?: RecordInto,
): Promise<CompletionStatus> {
  const status = await executeDataflow(request, env);
  if (record !== undefined)
    await recordRun(
      record.history,
      request.flow,
      record.dcp,
      request.rprs,
      status,
      record.calibration,
    );
  return status;
}
