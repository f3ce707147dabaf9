import { WarmflowError } from '../errors.js';
import type { HistoryStore } from '../history/history-store.js';
import { fitGroupRprs } from '../execute/plan.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import { predict } from '../predictor/predict.js';
import type { PredictOptions } from '../predictor/prediction.js';
import type { Rpr } from '../predictor/rpr.js';
import { ruleRprs } from '../predictor/rule-rprs.js';
import type { Dcp } from '../profiler/dcp.js';
import type { Provider } from '../provision/provider.js';
import type { LoadedFlow } from '../template/load-flow.js';

/** Where a run's RPRs came from: the predictor, or the plain rule and why the predictor did not run. */
export interface RprSource {
  basis: 'predictor' | 'rule';
  reason?: string;
}

/** Options of {@link planRprs}. */
export interface PlanRprsOptions {
  flow: LoadedFlow;
  /** The first stream's profile; null when there is none (then the rule is used). */
  dcp: Dcp | null;
  /** Every stream's profile, by stream name. */
  dcps?: Record<string, Dcp>;
  /** The placement groups the run will use (the predictor sizes a group as one resource). */
  groups: string[][];
  /** Fits the RPRs to its free cores, so the pool can actually be provisioned. */
  provider: Provider;
  history?: HistoryStore;
  tenant?: string;
  /** Sandbox calibration of the functions (default the predictor's: each stream's own source). */
  calibrate?: PredictOptions['calibrate'];
  engineCalibration?: EngineCalibration;
}

/** The RPRs of a run and where they came from. */
export interface PlannedRprs {
  rprs: Rpr[];
  rpr_source: RprSource;
}

/**
 * The predict stage of the pipeline, the same for every front door: the predictor (with
 * history and calibration), else the plain rule — its RPRs then carry in their notes why
 * the predictor did not run — then fitted to the provider's free cores.
 */
export async function planRprs(options: PlanRprsOptions): Promise<PlannedRprs> {
  const { flow, dcp } = options;
  let rprs: Rpr[];
  let rprSource: RprSource = { basis: 'predictor' };
  // GPUs come from the provider (the machine's, for local processes), never an assumed 0.
  const capacity = await options.provider.capacity();
  const gpus = Math.max(0, capacity.gpus - capacity.allocated.gpus);
  requireGpus(flow, gpus);
  try {
    if (dcp === null) throw new Error('no profile of the input');
    rprs = (
      await predict({
        flow,
        dcp,
        gpus,
        ...(options.dcps !== undefined ? { dcps: options.dcps } : {}),
        groups: options.groups,
        ...(options.calibrate !== undefined ? { calibrate: options.calibrate } : {}),
        ...(options.engineCalibration !== undefined
          ? { engineCalibration: options.engineCalibration }
          : {}),
        ...(options.history !== undefined
          ? { history: options.history, tenant: options.tenant ?? 'default' }
          : {}),
      })
    ).rprs;
  } catch (error) {
    // A missing GPU is the user's to fix, not a reason to size the flow by the rule.
    if (error instanceof WarmflowError && error.code === 'E_GPU_UNAVAILABLE') throw error;
    const reason = error instanceof Error ? error.message : String(error);
    rprSource = { basis: 'rule', reason };
    rprs = ruleRprs(flow.template, dcp?.volume.avg_record_size || 200).map((rpr) => ({
      ...rpr,
      reasoning: {
        ...rpr.reasoning!,
        notes: [...(rpr.reasoning?.notes ?? []), `the predictor could not run: ${reason}`],
      },
    }));
  }
  return {
    rprs: fitGroupRprs(
      rprs,
      options.groups,
      Math.max(1, capacity.cpu_cores - capacity.allocated.cpu_cores),
    ),
    rpr_source: rprSource,
  };
}

/**
 * Refuses a flow with functions marked `gpu: required` when the provider has fewer free
 * GPUs (E_GPU_UNAVAILABLE, exit 2), in every front door that plans through here.
 */
export function requireGpus(flow: PlanRprsOptions['flow'], gpus: number): void {
  const required = flow.spec.functions.filter((f) => f.gpu === 'required').map((f) => f.name);
  if (required.length <= gpus) return;
  throw new WarmflowError(
    'E_GPU_UNAVAILABLE',
    `${required.map((n) => `"${n}"`).join(', ')} require${required.length === 1 ? 's' : ''} a GPU; the provider offers ${gpus}`,
    { hint: 'run on a provider with GPUs, or mark the function `gpu: optional`' },
  );
}
