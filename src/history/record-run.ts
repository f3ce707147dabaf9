import { readFile } from 'node:fs/promises';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { Dcp } from '../profiler/dcp.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import type { Rpr } from '../predictor/rpr.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { HistoryStore, RunRecord } from './history-store.js';
import { observationsFromStatus } from './observations-from-status.js';
import { templateFingerprint } from './template-fingerprint.js';

/**
 * The engine calibration of the template's most recent run that calibrated (of its last 50),
 * from runs of the same template shape (`fingerprint`): a different flow that only shares the
 * name calibrated other functions.
 */
export async function latestCalibration(
  history: HistoryStore,
  tenant: string,
  template: string,
  fingerprint: string,
): Promise<EngineCalibration | undefined> {
  const runs = await history.runs({ tenant, template, limit: 50 });
  return runs.find((r) => r.calibration !== undefined && r.template_fingerprint === fingerprint)
    ?.calibration;
}

/** Records a run and its per-function observations (with module fingerprints) into history. */
export async function recordRun(
  history: HistoryStore,
  flow: LoadedFlow,
  dcp: Dcp | null,
  rprs: Rpr[],
  status: CompletionStatus,
  calibration?: EngineCalibration,
): Promise<void> {
  const run: RunRecord = {
    ...(calibration !== undefined ? { calibration } : {}),
    execution_id: status.execution_id,
    tenant: status.tenant,
    template: status.template,
    template_fingerprint: templateFingerprint(flow.template),
    recorded_at: new Date().toISOString(),
    dcp,
    rprs,
    status,
    ...(status.events !== undefined
      ? {
          events: status.events.map(({ node_id, event, detail }) => ({ node_id, event, detail })),
        }
      : {}),
  };
  const moduleSources: Record<string, Uint8Array> = {};
  for (const fn of flow.functions)
    if (fn.module !== null) moduleSources[fn.name] = await readFile(fn.module);
  // Each function is recorded with the size of the records it really received (as the
  // predictor propagated it through the DAG), so size-dependent CPU costs are learned right.
  const avgRecordSize: Record<string, number> = {};
  for (const rpr of rprs) {
    const size = rpr.reasoning?.inputs?.avg_record_size;
    if (typeof size === 'number' && size > 0) avgRecordSize[rpr.node_id] = size;
  }
  await history.record(run, observationsFromStatus(run, { moduleSources, avgRecordSize }));
}
