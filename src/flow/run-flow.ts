import path from 'node:path';
import type { HistoryStore } from '../history/history-store.js';
import { latestCalibration } from '../history/record-run.js';
import { templateFingerprint } from '../history/template-fingerprint.js';
import type { Dcp } from '../profiler/dcp.js';
import { profile } from '../profiler/profile.js';
import type { EngineCalibration } from '../predictor/calibration/engine-calibration.js';
import type { Rpr } from '../predictor/rpr.js';
import { LocalProvider } from '../provision/local/local-provider.js';
import { PreProvisioningService } from '../provision/pool/pre-provisioning-service.js';
import { claimFromOwner, type OwnerClaim } from '../provision/control/owner-claim.js';
import { MAX_CLAIM_WAIT_MS } from '../provision/control/control-protocol.js';
import type { ExecutionEnvironment, ExecutionRequest } from '../execute/execution-manager.js';
import { flowVersion } from '../template/flow-version.js';
import type { Provider } from '../provision/provider.js';
import type { Rac } from '../provision/rac.js';
import { loadFlow } from '../template/load-flow.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { StoreSpec } from '../template/types.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import { planGroups } from '../execute/plan.js';
import { refuseLiveOptionsWithoutStreams, resolveSources } from '../execute/sources.js';
import { openSource } from '../sources/open.js';
import type { Source } from '../sources/source.js';
import { teeSource } from '../sources/tee.js';
import { expectationsOf } from '../profiler/field-expectation.js';
import { calibrateOnEngine } from './calibrate-on-engine.js';
import { executeAndRecord } from './execute-and-record.js';
import { planRprs, type RprSource } from './plan-rprs.js';
import { calibrationSamples, type CalibrationSamples } from './samples.js';
import { profileLive } from '../profiler/profile-live.js';

/** Options of {@link runFlow}. */
export interface RunFlowOptions {
  /** Input per stream (`*`: the only one); default the flow's own sources. */
  inputs?: Record<string, string>;
  rate?: number;
  /** Fail the run when a node dead-letters more than this share of its input (default: the flow's setting, else 0.5). */
  maxDeadLetterRatio?: number;
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
  /** Live sources: when the run ends by itself, and whether it is resized while it runs. */
  live?: ExecutionRequest['live'];
  /** Aborted: live sources stop reading and the run drains (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** Everything one `warmflow run` did, for the report. */
export interface RunFlowResult {
  flow: LoadedFlow;
  dcps: Record<string, Dcp>;
  rprs: Rpr[];
  /** `predictor` or `rule` (when the predictor could not run, with why). */
  rpr_source: RprSource;
  groups: string[][];
  racs: Rac[];
  pool_ms: number | null;
  /** Where the warm set came from: `warmflow serve (pid N)`, or this run's own pool. */
  pool_from: string | null;
  status: CompletionStatus;
}

/** Past runs of a template after which `run` stops calibrating and trusts history. */
export const CALIBRATE_UNTIL_RUNS = 3;
/** Sample records per stream that calibration runs the functions on. */
export const CALIBRATION_SAMPLE = 2000;
/** At most this long profiling what a live stream already holds before a run. */
const LIVE_PROFILE_MS = 2000;

/**
 * The pipeline, the one every front door runs (`warmflow run` and `demo`, the benches):
 * profile → calibrate → predict (or the rule) → fit → pool → execute → record. Loads the
 * flow, profiles each input, calibrates while history is short, predicts one RPR per node
 * (the plain rule if the predictor fails), pre-provisions the warm pool from them, then
 * sends the execution request, which takes its resources from the pool (or, `cold`,
 * provisions on demand), records the run and returns what happened.
 */
export async function runFlow(
  flowFile: string,
  options: RunFlowOptions = {},
): Promise<RunFlowResult> {
  const flow = await loadFlow(flowFile);
  const inputs = options.inputs ?? {};
  const sources = resolveSources(flow, inputs, options.rate);
  refuseLiveOptionsWithoutStreams(options.live, sources, 'E_INVALID_ARGUMENTS');
  // Each input is opened once. A one-pass input (standard input) is teed: the profile and
  // calibration read its first records, the run reads those and the rest.
  const heads: Record<string, Source> = {};
  const opened: Record<string, Source> = {};
  for (const source of sources) {
    if (source.live) continue;
    const tee = teeSource(
      await openSource(source.input, source.fields ? { fields: source.fields } : {}),
    );
    heads[source.stream] = tee.head;
    if (tee.whole.onePass) opened[source.stream] = tee.whole;
  }
  options.onEvent?.('profiling');
  const dcps: Record<string, Dcp> = {};
  const liveSamples: Record<string, unknown[]> = {};
  for (const source of sources) {
    if (!source.live) {
      dcps[source.stream] = await profile(heads[source.stream], {
        sample: options.sample ?? 20_000,
        ...(source.fields !== undefined ? { expect: expectationsOf(source.fields) } : {}),
      });
      continue;
    }
    // A live stream is profiled on what it holds (read, not consumed) for at most a few
    // seconds; the records read are also the calibration sample.
    const records: unknown[] = [];
    const live = await profileLive(source.input, {
      from: 'start',
      durationMs: LIVE_PROFILE_MS,
      maxRecords: options.sample ?? 20_000,
      onItem: (record) => {
        if (records.length < CALIBRATION_SAMPLE) records.push(record);
      },
    });
    dcps[source.stream] = live.dcp;
    if (records.length > 0) liveSamples[source.stream] = records;
  }
  // The predictor sizes co-located nodes as one resource, so it must know the placement.
  const groups = planGroups(flow.template);
  const tenant = options.tenant ?? 'default';
  const provider = options.provider ?? new LocalProvider();
  try {
    const { calibration, samples, calibrating } = await calibrate(flow, sources, heads, groups, {
      ...options,
      provider,
      tenant,
      liveSamples,
    });
    // What the run will see: a replayed file arrives at the replay rate, not its event rate.
    const seen = replayDcps(dcps, sources, options.rate, calibration.engine);
    Object.assign(dcps, seen);
    const first = dcps[sources[0].stream];
    options.onEvent?.('predicting');
    const { rprs, rpr_source } = await planRprs({
      flow,
      dcp: first,
      dcps,
      groups,
      provider,
      tenant,
      calibrate: calibrating ? { samples: samples.samples, sampleSize: CALIBRATION_SAMPLE } : false,
      ...(calibration.engine !== undefined ? { engineCalibration: calibration.engine } : {}),
      ...(options.history !== undefined ? { history: options.history } : {}),
    });
    // A pool the local `warmflow serve` owns (`warmflow pool up`) is claimed first; without
    // one this run warms its own. A pool there that cannot serve this run is said, not skipped.
    const version = flowVersion(flow);
    const owned =
      options.cold === true
        ? ({ owner: false } as const)
        : await claimFromOwner({ template: flow.template.name, tenant, version });
    // A set still warming there is waited for, inside the execution (its wait is the status'
    // `timings.pool_wait_ms`); one that does not come leaves the run to start its own on demand.
    const waiting =
      owned.owner && owned.claimed === null && owned.reason === 'none_ready' && owned.warming > 0
        ? { taken: null as OwnerClaim | null }
        : null;
    let poolNote =
      owned.owner && owned.claimed === null && owned.reason !== 'no_pool' && waiting === null
        ? `${owned.why}; this run warmed its own resources`
        : undefined;
    let taken = owned.owner ? owned.claimed : null;
    const pool =
      options.cold === true
        ? null
        : taken !== null
          ? ownerPool(taken)
          : waiting !== null
            ? ownerWaitingPool({ template: flow.template.name, tenant, version }, waiting)
            : new PreProvisioningService({ provider });
    try {
      let racs: Rac[] = [];
      let poolMs: number | null = null;
      let poolFrom: string | null = null;
      if (taken !== null) {
        racs = taken.claim.racs;
        poolMs = 0;
        poolFrom = `warmflow serve (pid ${taken.pid})`;
      } else if (pool instanceof PreProvisioningService) {
        options.onEvent?.('pre-provisioning');
        const t = performance.now();
        racs = await pool.preProvision({ flow, rprs, tenant, groups, sets: 1 });
        poolMs = performance.now() - t;
        poolFrom = 'run';
      }
      options.onEvent?.('executing', { live: sources.some((s) => s.live) });
      const status = await executeAndRecord(
        {
          tenant,
          flow,
          rprs,
          groups,
          inputs,
          opened_sources: opened,
          ...(options.maxDeadLetterRatio !== undefined
            ? { max_dead_letter_ratio: options.maxDeadLetterRatio }
            : {}),
          ...(options.rate !== undefined ? { rate: options.rate } : {}),
          out_dir: options.outDir ?? path.resolve('out', flow.template.name),
          ...(options.stores !== undefined ? { stores: options.stores } : {}),
          ...(options.stateStore !== undefined ? { state_store: options.stateStore } : {}),
          ...(options.live !== undefined ? { live: options.live } : {}),
          baseline_dcps: dcps,
        },
        {
          provider,
          pool,
          cold: options.cold === true,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        },
        options.history === undefined
          ? undefined
          : {
              history: options.history,
              dcp: first,
              ...(calibration.made !== undefined ? { calibration: calibration.made } : {}),
            },
      );
      if (waiting !== null) {
        taken = waiting.taken;
        if (taken !== null) {
          racs = taken.claim.racs;
          poolMs = 0;
          poolFrom = `warmflow serve (pid ${taken.pid})`;
        } else if (owned.owner && owned.claimed === null)
          poolNote = `${owned.why}; none was ready for this run within ${MAX_CLAIM_WAIT_MS / 1000} s, so it started its resources on demand`;
      }
      if (poolNote !== undefined && status.pool_note === undefined) status.pool_note = poolNote;
      return {
        flow,
        dcps,
        rprs,
        rpr_source,
        groups,
        racs,
        pool_ms: poolMs,
        pool_from: poolFrom,
        status,
      };
    } finally {
      if (pool instanceof PreProvisioningService) await pool.close();
      // Not used (the run failed before executing): the set goes back to the owner's pool.
      else {
        const held = taken ?? waiting?.taken ?? null;
        if (held !== null && !ownerReleased.has(held)) await held.release().catch(() => {});
      }
    }
  } finally {
    if (options.provider === undefined) await provider.close();
  }
}

/**
 * The DCPs as the run will see its inputs: a file (not a live stream) is replayed at `--rate`
 * (`rate_source: "replay_rate"`) or, without one, as fast as the flow goes: the calibrated
 * throughput (`calibrated_throughput`), the pace of the engine calibration's warm passes. The rate the records' own times describe stays
 * beside it (`event_time_records_per_second`). Without a calibration the profile's rate is
 * kept.
 */
export function replayDcps(
  dcps: Record<string, Dcp>,
  sources: ReadonlyArray<{ stream: string; live?: boolean }>,
  rate: number | undefined,
  engine: EngineCalibration | undefined,
): Record<string, Dcp> {
  const throughput = rate === undefined ? calibratedThroughput(engine) : undefined;
  const seen: Record<string, Dcp> = {};
  for (const source of sources) {
    const dcp = dcps[source.stream];
    if (source.live === true || dcp === undefined) continue;
    const replayed = rate ?? throughput;
    if (replayed === undefined) continue;
    const { volume } = dcp;
    seen[source.stream] = {
      ...dcp,
      volume: {
        ...volume,
        records_per_second: Math.round(replayed * 100) / 100,
        rate_source: rate !== undefined ? 'replay_rate' : 'calibrated_throughput',
        ...(volume.rate_source === 'event_time' || volume.rate_source === 'arrival'
          ? { event_time_records_per_second: volume.records_per_second }
          : {}),
      },
    };
  }
  return seen;
}

/**
 * Source records per second the flow went through on the engine calibration's warm passes
 * (wall time, once the resources were ready): the pace of a file replayed as fast as possible.
 */
function calibratedThroughput(engine: EngineCalibration | undefined): number | undefined {
  return engine?.warm_records_per_second;
}

/**
 * The execution's pool when the owner's pool had no set ready but one warming: the execution
 * waits for that set (`claimWarming`, as it waits for one of its own process's pools) and
 * gets it, recorded in `holder`, or none and starts its resources on demand.
 */
function ownerWaitingPool(
  input: { template: string; tenant: string; version: string },
  holder: { taken: OwnerClaim | null },
): NonNullable<ExecutionEnvironment['pool']> {
  return {
    claim: () => null,
    claimWarming: async () => {
      if (holder.taken !== null) return null;
      const owned = await claimFromOwner({ ...input, waitMs: MAX_CLAIM_WAIT_MS });
      if (!owned.owner || owned.claimed === null) return null;
      holder.taken = owned.claimed;
      return owned.claimed.claim;
    },
    release: async (_claim, options) => {
      const taken = holder.taken;
      if (taken === null) return;
      ownerReleased.add(taken);
      await taken.release(options);
    },
  };
}

/** Sets given back to their owner by the execution (see {@link ownerPool}). */
const ownerReleased = new WeakSet<OwnerClaim>();

/**
 * The execution's pool when the set was claimed from `warmflow serve`: it hands that set to
 * the execution once, and gives it back to the owner when the execution releases it.
 */
function ownerPool(taken: OwnerClaim): NonNullable<ExecutionEnvironment['pool']> {
  let handed = false;
  return {
    claim: () => {
      if (handed) return null;
      handed = true;
      return taken.claim;
    },
    release: async (_claim, options) => {
      ownerReleased.add(taken);
      await taken.release(options);
    },
  };
}

/**
 * The calibrate stage: while history holds fewer than {@link CALIBRATE_UNTIL_RUNS} runs of
 * the template, reads a sample of this run's inputs (not the flow's default sources) and,
 * in `engine` mode, runs it through the flow on the engine; past that, the template's last
 * engine calibration is the prior that history refines.
 */
async function calibrate(
  flow: LoadedFlow,
  sources: ReturnType<typeof resolveSources>,
  heads: Record<string, Source>,
  groups: string[][],
  options: RunFlowOptions & {
    provider: Provider;
    tenant: string;
    liveSamples: Record<string, unknown[]>;
  },
): Promise<{
  calibrating: boolean;
  samples: CalibrationSamples;
  calibration: { engine?: EngineCalibration; made?: EngineCalibration };
}> {
  const mode = options.calibrate ?? 'engine';
  // Calibration runs every function in a sandbox (1-2 s each): worth it for a new flow,
  // not once enough measured runs of this template are in history.
  // Runs of this template's shape only: a namesake's runs measured other functions.
  const fingerprint = templateFingerprint(flow.template);
  const pastRuns =
    options.history === undefined
      ? 0
      : (
          await options.history.runs({
            tenant: options.tenant,
            template: flow.template.name,
            limit: 50,
          })
        ).filter((r) => r.template_fingerprint === fingerprint).length;
  const calibrating = mode !== 'none' && pastRuns < CALIBRATE_UNTIL_RUNS;
  const samples: CalibrationSamples = calibrating
    ? await calibrationSamples(sources, CALIBRATION_SAMPLE, heads)
    : { samples: {}, inputBytes: {}, unreadable: {} };
  if (calibrating) Object.assign(samples.samples, options.liveSamples);
  if (!calibrating) {
    const stored =
      mode !== 'none' && options.history !== undefined
        ? await latestCalibration(options.history, options.tenant, flow.template.name, fingerprint)
        : undefined;
    return { calibrating, samples, calibration: stored !== undefined ? { engine: stored } : {} };
  }
  if (mode !== 'engine') return { calibrating, samples, calibration: {} };
  options.onEvent?.('calibrating');
  try {
    const made = await calibrateOnEngine(flow, {
      samples: samples.samples,
      groups,
      provider: options.provider,
      tenant: options.tenant,
      inputBytes: samples.inputBytes,
    });
    return { calibrating, samples, calibration: { engine: made, made } };
  } catch (error) {
    // The sandbox calibration still grounds the prediction; the report says why.
    options.onEvent?.('calibration-skipped', { reason: (error as Error).message });
    return { calibrating, samples, calibration: {} };
  }
}
