import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryStore, RunRecord } from '../history/history-store.js';
import { observationsFromStatus } from '../history/observations-from-status.js';
import { templateFingerprint } from '../history/template-fingerprint.js';
import type { Dcp } from '../profiler/dcp.js';
import { profile } from '../profiler/profile.js';
import { predict } from '../predictor/predict.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import { readSample } from '../predictor/calibration/sample-reader.js';
import type { Rpr } from '../predictor/rpr.js';
import { LocalProvider } from '../provision/local/local-provider.js';
import { PreProvisioningService } from '../provision/pool/pre-provisioning-service.js';
import type { Provider } from '../provision/provider.js';
import type { Rac } from '../provision/rac.js';
import { loadFlow } from '../template/load-flow.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { StoreSpec } from '../template/types.js';
import type { CompletionStatus } from './completion-status.js';
import { executeDataflow } from './execution-manager.js';
import { fitGroupRprs, planGroups } from './plan.js';
import { ruleRprs } from './rule-rprs.js';
import { resolveSources } from './sources.js';
import { calibrateOnEngine } from './calibrate-on-engine.js';

/** Options of {@link runFlow}. */
export interface RunFlowOptions {
  /** Input per stream (`*`: the only one); default the flow's own sources. */
  inputs?: Record<string, string>;
  rate?: number;
  /** On-demand resources only, no warm pool. */
  cold?: boolean;
  /** Default `./out/<flow>`. */
  outDir?: string;
  stores?: Record<string, StoreSpec>;
  stateStore?: string;
  tenant?: string;
  /** Records the profiler reads per stream (default 20,000). */
  sample?: number;
  /** The provider (default a LocalProvider under WARMFLOW_HOME); closed by runFlow only if it created it. */
  provider?: Provider;
  /** Past runs: the predictor learns from them and this run is recorded into them. */
  history?: HistoryStore;
  /**
   * Calibrate the functions before predicting: `engine` (default) runs them in sandboxes
   * and then the sample through the flow on the engine, `sandbox` only the former, `none`
   * neither. Either way only while history holds fewer than 3 runs of the template.
   */
  calibrate?: 'engine' | 'sandbox' | 'none';
  onEvent?: (event: string, detail?: Record<string, unknown>) => void;
}

/** Everything one `warmflow run` did, for the report. */
export interface RunFlowResult {
  flow: LoadedFlow;
  dcps: Record<string, Dcp>;
  rprs: Rpr[];
  /** `predictor` or `rule` (when the predictor could not run, with why). */
  rpr_source: { basis: 'predictor' | 'rule'; reason?: string };
  groups: string[][];
  racs: Rac[];
  pool_ms: number | null;
  status: CompletionStatus;
}

/** Past runs of a template after which `run` stops calibrating and trusts history. */
const CALIBRATE_UNTIL_RUNS = 3;
/** Sample records per stream that calibration runs the functions on. */
const SAMPLE = 2000;

/**
 * The whole job of `warmflow run`: load the flow, profile each input, predict one RPR per
 * node (the plain rule if the predictor fails), pre-provision the warm pool from them, then
 * send the execution request, which takes its resources from the pool (or, `cold`,
 * provisions on demand), and return what happened.
 */
export async function runFlow(
  flowFile: string,
  options: RunFlowOptions = {},
): Promise<RunFlowResult> {
  const flow = await loadFlow(flowFile);
  const inputs = options.inputs ?? {};
  const sources = resolveSources(flow, inputs, options.rate);
  options.onEvent?.('profiling');
  const dcps: Record<string, Dcp> = {};
  for (const source of sources)
    dcps[source.stream] = await profile(source.input, { sample: options.sample ?? 20_000 });
  const first = dcps[sources[0].stream];
  let rprs: Rpr[];
  let rprSource: RunFlowResult['rpr_source'] = { basis: 'predictor' };
  // The predictor sizes co-located nodes as one resource, so it must know the placement.
  const groups = planGroups(flow.template);
  const tenant = options.tenant ?? 'default';
  // Calibration runs every function in a sandbox (1-2 s each): worth it for a new flow,
  // not once enough measured runs of this template are in history.
  const pastRuns =
    options.history === undefined
      ? 0
      : (
          await options.history.runs({
            tenant,
            template: flow.template.name,
            limit: CALIBRATE_UNTIL_RUNS,
          })
        ).length;
  const provider = options.provider ?? new LocalProvider();
  const mode = options.calibrate ?? 'engine';
  const calibrating = mode !== 'none' && pastRuns < CALIBRATE_UNTIL_RUNS;
  // Functions are calibrated on this run's inputs (not the flow's default sources).
  const samples: Record<string, unknown[]> = {};
  if (calibrating)
    for (const source of sources) {
      if (source.input === '-') continue;
      try {
        samples[source.stream] = await readSample(source.input, SAMPLE);
      } catch {
        // Unreadable here: the run reports it; calibration falls back to the flow's source.
      }
    }
  let engineCalibration: EngineCalibration | undefined;
  // A template past calibrating keeps its last engine calibration as the prior history refines.
  let storedCalibration: EngineCalibration | undefined;
  if (!calibrating && mode !== 'none' && options.history !== undefined)
    storedCalibration = await latestCalibration(options.history, tenant, flow.template.name);
  if (calibrating && mode === 'engine') {
    options.onEvent?.('calibrating');
    try {
      engineCalibration = await calibrateOnEngine(flow, {
        samples,
        groups,
        provider,
        tenant,
        inputBytes: inputSizes(sources),
      });
    } catch (error) {
      // The sandbox calibration still grounds the prediction; the report says why.
      options.onEvent?.('calibration-skipped', { reason: (error as Error).message });
    }
  }
  options.onEvent?.('predicting');
  try {
    rprs = (
      await predict({
        flow,
        dcp: first,
        dcps,
        groups,
        calibrate: calibrating ? { samples, sampleSize: SAMPLE } : false,
        ...((engineCalibration ?? storedCalibration)
          ? { engineCalibration: engineCalibration ?? storedCalibration }
          : {}),
        ...(options.history ? { history: options.history, tenant } : {}),
      })
    ).rprs;
  } catch (error) {
    rprs = ruleRprs(flow.template, first.volume.avg_record_size || 200);
    rprSource = { basis: 'rule', reason: error instanceof Error ? error.message : String(error) };
  }
  const capacity = await provider.capacity();
  rprs = fitGroupRprs(rprs, groups, Math.max(1, capacity.cpu_cores - capacity.allocated.cpu_cores));
  const pool = options.cold === true ? null : new PreProvisioningService({ provider });
  try {
    let racs: Rac[] = [];
    let poolMs: number | null = null;
    if (pool !== null) {
      options.onEvent?.('pre-provisioning');
      const t = performance.now();
      racs = await pool.preProvision({ flow, rprs, tenant, groups, sets: 1 });
      poolMs = performance.now() - t;
    }
    options.onEvent?.('executing');
    const status = await executeDataflow(
      {
        tenant,
        flow,
        rprs,
        groups,
        inputs,
        ...(options.rate !== undefined ? { rate: options.rate } : {}),
        out_dir: options.outDir ?? path.resolve('out', flow.template.name),
        ...(options.stores !== undefined ? { stores: options.stores } : {}),
        ...(options.stateStore !== undefined ? { state_store: options.stateStore } : {}),
      },
      {
        provider,
        pool,
        cold: options.cold === true,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      },
    );
    if (options.history !== undefined)
      await recordRun(options.history, flow, first, rprs, status, engineCalibration);
    return { flow, dcps, rprs, rpr_source: rprSource, groups, racs, pool_ms: poolMs, status };
  } finally {
    await pool?.close();
    if (options.provider === undefined) await provider.close();
  }
}

/** Bytes of each stream's input file (streams read from stdin or missing files left out). */
function inputSizes(sources: ReturnType<typeof resolveSources>): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const source of sources) {
    if (source.input === '-') continue;
    try {
      sizes[source.stream] = statSync(source.input).size;
    } catch {
      // Not a file here: calibration reads its sample in the default chunks.
    }
  }
  return sizes;
}

/** The engine calibration of the template's most recent run that calibrated (of its last 50). */
export async function latestCalibration(
  history: HistoryStore,
  tenant: string,
  template: string,
): Promise<EngineCalibration | undefined> {
  const runs = await history.runs({ tenant, template, limit: 50 });
  return runs.find((r) => r.calibration !== undefined)?.calibration;
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
