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
  try {
    if (dcp === null) throw new Error('no profile of the input');
    rprs = (
      await predict({
        flow,
        dcp,
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
  const capacity = await options.provider.capacity();
  return {
    rprs: fitGroupRprs(
      rprs,
      options.groups,
      Math.max(1, capacity.cpu_cores - capacity.allocated.cpu_cores),
    ),
    rpr_source: rprSource,
  };
}
