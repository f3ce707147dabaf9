import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import type { Rpr } from '../predictor/rpr.js';
import type { Provider } from '../provision/provider.js';
import type { Rac } from '../provision/rac.js';
import type { Claim } from '../provision/pool/claim.js';
import { flowVersion } from '../template/flow-version.js';
import { planResources } from '../provision/pool/resource-plan.js';
import { openStore } from '../stores/open-store.js';
import type { StoreSpec } from '../template/types.js';
import type { LoadedFlow } from '../template/load-flow.js';
import { WorkerClient } from '../worker/client.js';
import { MALFORMED_KEPT, type RunResult } from '../worker/dataplane/deploy-spec.js';
import { DEAD_LETTER_TYPE, persistentSeeds, primeSeed } from '../worker/worker-contract.js';
import type { CompletionStatus } from './completion-status.js';
import { buildDeploySpec, runStores } from './deploy-plan.js';
import { completionStatus, DEFAULT_MAX_DEAD_LETTER_RATIO } from './completion-builder.js';
import { planGroups } from './plan.js';
import { feedSource, type FeederStats } from './push-feeder.js';
import { LiveCommit } from './live-commit.js';
import { LiveMonitor } from './live-monitor.js';
import type { Dcp } from '../profiler/dcp.js';
import { feedLive, type LiveBudget, type LiveFeederStats, type LiveLimits } from './live-feeder.js';
import { DEFAULT_STALL_TIMEOUT_MS, preciseNow, ResourceSession } from './resource-session.js';
import { SinkFiles } from './sinks.js';
import { refuseLiveOptionsWithoutStreams, resolveSources } from './sources.js';
import type { Source } from '../sources/source.js';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import type { StoreConnections } from '../stores/store-connections.js';
import type { DataStore } from '../stores/store.js';
import { sharedCheckpointStore } from '../checkpoint/sqlite-checkpoint-store.js';
import { ResourceError } from './resource-error.js';
import { DEFAULT_MAX_RECOVERIES, RecoveringRun, type Replacement } from './recovery.js';
import { ResizingRun } from './resizing-run.js';
import { LiveResizer, type LiveResizeOptions } from './live-resizer.js';
import { ResizePolicy } from '../policy/live/resize-policy.js';

/** A Dataflow Execution Request. */
export interface ExecutionRequest {
  execution_id?: string;
  /** Default `default`. */
  tenant?: string;
  flow: LoadedFlow;
  /** One RPR per node (what the pool was, or on-demand resources will be, provisioned from). */
  rprs: Rpr[];
  /** Placement groups; default {@link planGroups}. Must match the pool's to use it. */
  groups?: string[][];
  /** Input per stream name (`*`: the only stream); default each stream's `source`. */
  inputs?: Record<string, string>;
  /**
   * Sources already open, by stream: a one-pass input (standard input) whose
   * first records the profiler read through a tee. The run reads these instead of opening
   * `inputs` again, so nothing is consumed twice. In-process callers only (not serialisable).
   */
  opened_sources?: Record<string, Source>;
  /** Replay sources at this many records per second. */
  rate?: number;
  /**
   * Fail the run when a node dead-letters more than this share of its input (0-1); default
   * the flow's `max_dead_letter_ratio`, else 0.5. A node that dead-letters all of its input
   * fails the run whatever the setting.
   */
  max_dead_letter_ratio?: number;
  /** Folder of the JSONL sinks and the dead-letter file. */
  out_dir: string;
  /** Store catalogue overrides (by name; new names allowed). */
  stores?: Record<string, StoreSpec>;
  /** Keep every keyed node's state in this store instead of its RPR's. */
  state_store?: string;
  /**
   * Continue from the keyed state a previous execution left in persistent stores. Default
   * false: an execution starts with empty state (a re-run of the same input gives the same
   * result); state lives in `state/<template>/<node>` of the store, so a later recovery can
   * resume from it.
   */
  keep_state?: boolean;
  /**
   * Fail the run (`E_STALLED`) when a resource makes no progress for this many
   * milliseconds; 0 disables the watchdog. Default `WARMFLOW_STALL_TIMEOUT_MS`, else
   * 120,000 — generous, since a function awaiting something slow is the only false positive.
   */
  stall_timeout_ms?: number;
  /**
   * Bytes per chunk of file sources read by the resources (default: from each file's size
   * and the threads, 16-256 KiB). Engine calibration sets what the real input would get.
   */
  chunk_bytes?: number;
  /**
   * Live sources (`nats://…`, `redis://…`): when the run ends by itself. Without a limit
   * it runs until the environment's `signal` aborts (then it drains: stops reading,
   * finishes what is in flight, writes every output, acknowledges, and succeeds).
   */
  live?: LiveLimits & {
    /**
     * Resize the run while it runs, ahead of its load: a forecast of the streams' rate
     * decides the size, a resource of that size is provisioned warm and the run moves onto
     * it at a commit, keyed state included (docs/policy.md). Runs on one resource only.
     */
    resize?: LiveResizeOptions;
  };
  /** The DCP per stream the RPRs were made from: a live run reports drift away from it. */
  baseline_dcps?: Record<string, Dcp>;
  /**
   * Milliseconds a checkpoint epoch aims at; 0 turns checkpoints off. Default
   * `WARMFLOW_CHECKPOINT_INTERVAL_MS`, else {@link DEFAULT_CHECKPOINT_INTERVAL_MS}. Runs whose
   * sources are all files read by the resource, on one resource, without `keep_state`, are
   * checkpointed; see docs/recovery.md.
   */
  checkpoint_interval_ms?: number;
  /** Recoveries (a resource died, the run continued on another) before the run fails; default 5. */
  max_recoveries?: number;
  /**
   * Continue execution `execution_id` from its last checkpoint in the home (an orchestrator
   * that died mid-run): sinks are rolled back to it, stores skip the epochs they hold.
   */
  resume?: boolean;
}

/** Where resources come from. */
export interface ExecutionEnvironment {
  /** The provider on-demand resources are created with (the pool's own). */
  provider: Provider;
  /** The warm pools; absent or `cold`: on-demand only. */
  pool?: {
    claim(template: string, tenant: string, version?: string): Claim | null;
    /** A request for `template` arrived: wake the set a claim would take (see `PreProvisioningService.wake`). */
    wake?(template: string, tenant: string): void;
    /** No set ready but one warming: waits for it (see `PreProvisioningService.claimWarming`). */
    claimWarming?(template: string, tenant: string, version?: string): Promise<Claim | null>;
    release(claim: Claim, options?: { retire?: boolean }): Promise<void>;
    /** Store connections kept between runs, used to prepare them (see `StoreConnections`). */
    stores?: StoreConnections;
  } | null;
  cold?: boolean;
  /** Creates the JSONL sinks (default {@link SinkFiles}); lets embedders and tests wrap them. */
  sinks?: (dir: string) => SinkFiles;
  /** Aborted: live sources stop reading and the run drains (SIGINT/SIGTERM, `DELETE /v1/executions/{id}`). */
  signal?: AbortSignal;
  /** Called for each batch a live source read (records, bytes), for live figures. */
  onLiveBatch?: (source: string, records: number, bytes: number) => void;
  /** Where checkpoints are recorded; default the home database (opened only for checkpointed runs). */
  checkpoints?: CheckpointStore;
  /**
   * Progress, for the CLI: `claimed`, `provisioning`, `provisioned`, `checkpoint` (each one
   * recorded), `recovered` (a replacement resource), `live`, `finished`.
   */
  onEvent?: (event: string, detail?: Record<string, unknown>) => void;
}

/** A group of nodes placed on a resource, with a connection to its worker. */
export interface Placed {
  group: string[];
  rac: Rac;
  client: WorkerClient;
  warm: boolean;
}

/**
 * The Dataflow Execution Manager — the spec's `executeDataflow`:
 *
 * ```
 * rac = getResourceAllocationConfirmation(template)   // claim a warm set
 * if rac is null: provisionResources(request, template) // on-demand, same provider
 * deployNodes(request, template, rac)                 // df.run: spec onto each resource
 * executeNodes(request, template)                     // sources -> nodes -> sinks
 * return getCompletionStatus(request, template)
 * ```
 *
 * Never throws for a failed run: a failure (a worker that died, a store that refused a
 * write) is in the returned status with the node and the reason. Throws only for a
 * request that cannot start (no input, no capacity for on-demand resources).
 */
export async function executeDataflow(
  request: ExecutionRequest,
  env: ExecutionEnvironment,
): Promise<CompletionStatus> {
  const requestedAt = preciseNow();
  const started = performance.now();
  const stallTimeoutMs = stallTimeout(request);
  const executionId = request.execution_id ?? randomUUID();
  const tenant = request.tenant ?? 'default';
  const flow = request.flow;
  // First of all, so the warm set's threads are awake by the time the run is sent to them.
  if (env.cold !== true) env.pool?.wake?.(flow.template.name, tenant);
  const groups = request.groups ?? planGroups(flow.template);
  const sources = resolveSources(flow, request.inputs ?? {}, request.rate, request.opened_sources);
  refuseLiveOptionsWithoutStreams(request.live, sources, 'E_INVALID_REQUEST');
  const stores = runStores(flow, request.stores);

  const exits = new Map<string, string>();
  const oomKilled = new Map<string, string>();
  const unwatch = env.provider.watch((event) => {
    if (event.type === 'exited' && event.oom_killed) oomKilled.set(event.resource_id, event.reason);
    if (event.type === 'exited')
      exits.set(
        event.resource_id,
        `${event.reason}${event.oom_killed ? ' (over its memory limit)' : ''}`,
      );
  });
  const version = flowVersion(flow);
  let claim =
    env.cold === true ? null : (env.pool?.claim(flow.template.name, tenant, version) ?? null);
  // No set ready, one warming (a pre-warm under way, a refill behind the last claim): it is
  // ready before on-demand resources started now would be. The wait is in the status.
  let poolWaitMs: number | undefined;
  if (claim === null && env.cold !== true && env.pool?.claimWarming !== undefined) {
    const waitFrom = performance.now();
    claim = await env.pool.claimWarming(flow.template.name, tenant, version);
    if (claim !== null) poolWaitMs = Math.round((performance.now() - waitFrom) * 1000) / 1000;
  }
  let placed: Placed[] | null = claim === null ? null : placeFromClaim(claim, groups);
  // A claimed set this execution cannot place on is said in the status, never swapped for
  // on-demand resources silently: a pool that is never used costs its capacity for nothing.
  let poolNote: string | undefined;
  if (claim !== null && placed === null) {
    poolNote = unusableClaimNote(claim, groups);
    await env.pool!.release(claim);
    claim = null;
  }
  env.onEvent?.(claim !== null ? 'claimed' : 'provisioning', { warm: claim !== null });
  const onDemand: Placed[] = [];
  /** Sets claimed for replacements, released (retired) at the end. */
  const extraClaims: Claim[] = [];
  let failed = false;
  let recovered = false;
  let checkpointStore: CheckpointStore | null = null;
  /** Registers a resumable checkpointed run in the store. */
  let register: (() => Promise<void>) | null = null;
  try {
    if (placed === null) {
      placed = (await provisionResources(request, env.provider, tenant, groups)).placed;
      onDemand.push(...placed);
      env.onEvent?.('provisioned', { resources: placed.length });
    }
    await prepareStores(request, stores, groups, executionId, env.pool?.stores);
    const sinks = env.sinks?.(request.out_dir) ?? new SinkFiles(request.out_dir);
    const sinkTypes = flow.template.nodes
      .filter((n) => n.kind === 'write' && n.data_store === undefined)
      .map((n) => n.type ?? n.id);
    const interval = checkpointInterval(request);
    const liveOnly = sources.length > 0 && sources.every((s) => s.live);
    // A live run resized while it runs moves between resources at its commits (at least
    // once, as any live run): it is not checkpointed.
    const resizing =
      request.live?.resize !== undefined && placed.length === 1 && sources.some((s) => s.live);
    const checkpointed =
      interval > 0 &&
      placed.length === 1 &&
      request.keep_state !== true &&
      sources.length > 0 &&
      (sources.every((s) => s.mode === 'file' && !s.live) || liveOnly);
    if (checkpointed) {
      // Opened in the background: opening SQLite the first time in a process (the CLI's every
      // run) takes 10-15 ms, which the deploy does not wait for; the registration and the
      // first checkpoint do.
      checkpointStore = env.checkpoints ?? openingStore(sharedCheckpointStore());
      // A live run is not resumed after the orchestrator's death: what it held
      // unacknowledged goes back to its group (at-least-once for that case).
      const resumable = !liveOnly;
      if (request.resume === true && !resumable)
        throw new WarmflowError(
          'E_RESUME',
          `execution ${executionId} cannot be resumed: it reads a live stream (run it again: the group holds what it did not acknowledge)`,
        );
      // Registered once the deploys are on their way (below): a checkpoint is saved only
      // after it, and the request waits for neither.
      if (request.resume !== true && resumable)
        register = () =>
          checkpointStore!.begin(executionId, resumableRequest(request, executionId, tenant));
      env.onEvent?.('checkpointing', {
        execution_id: executionId,
        interval_ms: interval,
        resumable,
      });
    } else if (request.resume === true)
      throw new WarmflowError(
        'E_RESUME',
        `execution ${executionId} cannot be resumed: only runs whose sources are files read by one resource are checkpointed`,
      );
    // Registered once a resource has deployed (not while the deploys compete with it for the
    // cores), and at the latest before the first checkpoint is saved.
    let registration: Promise<void> | null = null;
    const registered = (): Promise<void> =>
      register === null ? Promise.resolve() : (registration ??= register());
    const recovering: RecoveringRun[] = [];
    const sessions = placed.map((p, part) => {
      const spec = buildDeploySpec({
        executionId,
        flow,
        nodeIds: p.group,
        rprs: request.rprs,
        sources,
        stores,
        tenant,
        version,
        ...(request.state_store !== undefined ? { stateStore: request.state_store } : {}),
        ...(request.chunk_bytes !== undefined ? { chunkBytes: request.chunk_bytes } : {}),
      });
      if (checkpointed) {
        const run = new RecoveringRun({
          execution_id: executionId,
          part,
          spec: {
            ...spec,
            checkpoint: { writer: `${executionId}/${part}`, interval_ms: interval },
          },
          first: p,
          sinks,
          store: checkpointStore!,
          registered,
          ...(register !== null
            ? { onDeployed: () => setImmediate(() => void registered().catch(() => undefined)) }
            : {}),
          stallTimeoutMs,
          maxRecoveries: request.max_recoveries ?? DEFAULT_MAX_RECOVERIES,
          ...(request.resume === true ? { resume: true } : {}),
          sinkTypes,
          onCheckpoint: (epoch, resourceId) =>
            env.onEvent?.('checkpoint', { part, epoch, resource_id: resourceId }),
          replace: async () => {
            recovered = true;
            // A resized run goes on at the size it has now, not the one it started with.
            const size =
              resizer instanceof LiveResizer && resizer.cores !== cores(p)
                ? { cpu_cores: resizer.cores }
                : undefined;
            const replacement = await replaceResource(request, env, p.group, tenant, version, size);
            if (replacement.claim !== undefined) extraClaims.push(replacement.claim);
            else onDemand.push({ ...replacement, group: p.group });
            if (resizer instanceof LiveResizer) resizer.replaced(replacement);
            env.onEvent?.('recovered', { resource_id: replacement.rac.resource_id });
            return replacement;
          },
          exitOf: async (resourceId) => {
            // The provider's exit event may trail the closed connection a little.
            for (let waited = 0; !exits.has(resourceId) && waited < 1000; waited += 50)
              await new Promise((r) => setTimeout(r, 50));
            return {
              ...(exits.has(resourceId) ? { reason: exits.get(resourceId)! } : {}),
              oom: oomKilled.has(resourceId),
            };
          },
        });
        recovering.push(run);
        return run;
      }
      if (resizing) return new ResizingRun({ spec, first: p, sinks, stallTimeoutMs });
      return new ResourceSession({
        client: p.client,
        rac: p.rac,
        warm: p.warm,
        spec,
        sinks,
        stallTimeoutMs,
      });
    });
    const runs = sessions.map((s) => s.run());
    // Every df.run is written: the output files are created while the resources deploy,
    // before this process handles any frame of the runs, so before the first output batch
    // is written.
    // A resumed run keeps what its sinks held at the checkpoint (rolled back, not emptied).
    if (request.resume !== true) sinks.prepare(sinkTypes);
    /** The session each part runs on now (a recovered part: its last resource). */
    const current = (): ResourceSession[] =>
      // A resumed part has its session once it read its checkpoint.
      sessions.flatMap((s) =>
        s instanceof RecoveringRun
          ? s.sessions.length > 0
            ? [s.current]
            : []
          : s instanceof ResizingRun
            ? [s.current]
            : [s],
      );
    const feeders = new Map<string, FeederStats>();
    const commit = sources.some((s) => s.live)
      ? checkpointed
        ? new LiveCommit([], sinks, {
            recovering: sessions[0] as RecoveringRun,
            intervalMs: interval,
          })
        : new LiveCommit(current, sinks)
      : null;
    const monitor =
      commit === null
        ? null
        : new LiveMonitor(
            sources
              .filter((s) => s.live)
              .map((s) => ({
                stream: s.stream,
                ...(request.baseline_dcps?.[s.stream] !== undefined
                  ? { baseline: request.baseline_dcps[s.stream] }
                  : {}),
              })),
            flow.spec.functions.flatMap((f) => (f.key === undefined ? [] : [f.key])),
          );
    const resizer =
      resizing && monitor !== null
        ? liveResizer(request, env, {
            run: sessions[0] as ResizingRun | RecoveringRun,
            first: placed[0],
            commit: commit!,
            tenant,
            onDemand,
          })
        : request.live?.resize !== undefined && monitor !== null
          ? `not resized: the run is placed on ${placed.length} resources, and a resize moves a run placed on one`
          : null;
    // About once a second: the live window per stream and any new drift, to the front door.
    const ticker =
      monitor === null
        ? undefined
        : setInterval(() => {
            const { streams, drift, dcps } = monitor.tick();
            if (resizer instanceof LiveResizer) void resizer.tick();
            const byNode = commit!.lags();
            const lags = Object.fromEntries(
              sources.filter((s) => s.live).map((s) => [s.stream, byNode[s.node_id] ?? null]),
            );
            env.onEvent?.('live', {
              streams,
              drift,
              dcps,
              lags,
              acknowledged: commit!.acknowledged,
              unacknowledged: commit!.unacknowledged,
              ...(resizer instanceof LiveResizer
                ? {
                    resize: {
                      cpu_cores: resizer.cores,
                      forecast_records_per_second: Math.round(resizer.forecast * 10) / 10,
                      resizes: resizer.resizes.map((r) => ({ ...r })),
                      spares: { ...resizer.spares },
                    },
                  }
                : {}),
            });
          }, 1000);
    const feeding = feedPushSources(sources, current, request.rate, feeders, sinks, {
      flow: flow.template.name,
      commit,
      limits: request.live ?? {},
      budget: { read: 0 },
      ...(env.signal !== undefined ? { signal: env.signal } : {}),
      ...(env.onLiveBatch !== undefined ? { onBatch: env.onLiveBatch } : {}),
      ...(monitor !== null ? { monitor } : {}),
      // No move may start once the sources are done: the resources are told to end.
      ...(resizer instanceof LiveResizer ? { beforeEnd: () => resizer.stop() } : {}),
    });
    const settled = await Promise.allSettled([
      ...runs,
      feeding,
      // A registration begun is waited for; its failure fails the run.
      Promise.resolve().then(() => registration),
    ]).finally(() => {
      clearInterval(ticker);
      // A last look, so a run shorter than a tick is compared with its baseline too.
      monitor?.tick();
    });
    let failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) for (const s of current()) s.cancel();
    if (commit !== null) {
      // Every output is written (the resources drained): acknowledge what was read. A
      // failed run acknowledges nothing more; the group gets those messages again.
      try {
        if (failure === undefined) await commit.finish();
        for (const [node, source] of commit.sources) {
          const stats = feeders.get(node) as LiveFeederStats | undefined;
          if (stats !== undefined) stats.lag = (await source.lag().catch(() => undefined)) ?? null;
        }
      } catch (error) {
        failure ??= { status: 'rejected', reason: error };
      } finally {
        await commit.close();
      }
    }
    await sinks.close();
    const results = settled
      .slice(0, sessions.length)
      .map((s) => (s.status === 'fulfilled' ? (s.value as RunResult) : null));
    failed = failure !== undefined;
    let error: CompletionStatus['error'];
    if (failure !== undefined) {
      const reason = failure.reason as WarmflowError & { node_id?: string };
      const resource = reason instanceof ResourceError ? reason.resource_id : undefined;
      // The provider's exit event (and whether it was an OOM kill) may trail the closed
      // connection a little, more so on a busy machine: wait up to a second for it (not
      // for a stalled resource: it is still there).
      for (
        let waited = 0;
        resource !== undefined &&
        reason.code !== 'E_STALLED' &&
        !exits.has(resource) &&
        waited < 1000;
        waited += 50
      )
        await new Promise((r) => setTimeout(r, 50));
      const exit = resource === undefined ? undefined : exits.get(resource);
      error = {
        code: reason.code ?? 'E_RUN',
        message: `${reason.message ?? String(reason)}${exit !== undefined ? ` (worker: ${exit})` : ''}`,
        ...(reason.node_id !== undefined ? { node_id: reason.node_id } : {}),
      };
    }
    const status = completionStatus({
      executionId,
      tenant,
      flow,
      rprs: request.rprs,
      // A resized part's timings are its first resource's (the request waited for that one);
      // the resources it moved to are in `live.resizes`.
      sessions: sessions.flatMap((s) =>
        s instanceof ResizingRun
          ? [s.sessions[0]]
          : s instanceof RecoveringRun
            ? s.sessions.length > 0
              ? [s.current]
              : []
            : [s],
      ),
      results,
      feeders,
      sources,
      sinks,
      requestedAt,
      totalMs: performance.now() - started,
      ...(error !== undefined ? { error } : {}),
      ...(request.state_store !== undefined ? { stateStore: request.state_store } : {}),
      maxDeadLetterRatio:
        request.max_dead_letter_ratio ??
        flow.spec.max_dead_letter_ratio ??
        DEFAULT_MAX_DEAD_LETTER_RATIO,
    });
    // An OOM kill is a measured fact about every node the resource ran: history keeps it
    // and the predictor raises those nodes' memory floor.
    const everySession = sessions.flatMap((s) =>
      s instanceof RecoveringRun || s instanceof ResizingRun ? s.sessions : [s],
    );
    const events: NonNullable<CompletionStatus['events']> = everySession.flatMap((s) => {
      const detail = oomKilled.get(s.rac.resource_id);
      return detail === undefined
        ? []
        : s.rac.node_ids.map((node_id) => ({
            node_id,
            event: 'oom_killed' as const,
            resource_id: s.rac.resource_id,
            detail,
          }));
    });
    if (events.length > 0) status.events = events;
    if (poolNote !== undefined) status.pool_note = poolNote;
    if (poolWaitMs !== undefined) status.timings.pool_wait_ms = poolWaitMs;
    if (checkpointed)
      status.checkpoints = {
        interval_ms: interval,
        epochs: recovering.reduce((n, r) => n + r.epochs, 0),
        recoveries: recovering.flatMap((r) => r.recoveries),
      };
    // The outcome is decided: nothing is left to resume from.
    if (checkpointStore !== null) await checkpointStore.finish(executionId);
    if (commit !== null) {
      const live: NonNullable<CompletionStatus['live']> = {
        acknowledged: commit.acknowledged,
        unacknowledged: commit.unacknowledged,
        commits: commit.commits,
        sources: {},
        drift: monitor!.drift,
        delivery: checkpointed
          ? { guarantee: 'exactly_once' }
          : {
              guarantee: 'at_least_once',
              why: notCheckpointed({
                interval,
                resources: placed.length,
                keepState: request.keep_state === true,
              }),
            },
      };
      if (resizer instanceof LiveResizer) {
        live.resizes = resizer.resizes;
        live.spares = { ...resizer.spares };
        live.size = {
          cpu_cores: resizer.cores,
          resource_id: (sessions[0] as ResizingRun | RecoveringRun).current.rac.resource_id,
        };
      } else if (typeof resizer === 'string') live.resize_note = resizer;
      const liveDcps = monitor!.dcps();
      for (const source of sources.filter((s) => s.live)) {
        const stats = feeders.get(source.node_id) as LiveFeederStats | undefined;
        if (stats === undefined) continue;
        const parsed = status.nodes.find((n) => n.node_id === source.node_id);
        const kept = results.flatMap((r) => r?.nodes[source.node_id]?.malformed ?? []);
        live.sources[source.stream] = {
          url: stats.url,
          group: stats.group,
          messages: stats.records_in,
          malformed: parsed?.dead_lettered ?? 0,
          ...(kept.length > 0 ? { first_malformed: kept.slice(0, MALFORMED_KEPT) } : {}),
          stopped_by: stats.stopped_by,
          lag: stats.lag,
          ...(liveDcps[source.stream] !== undefined ? { dcp: liveDcps[source.stream] } : {}),
        };
      }
      status.live = live;
    }
    env.onEvent?.('finished', { outcome: status.outcome });
    return status;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    unwatch();
    // A set one of whose resources died is not given back to the pool.
    if (claim !== null) await env.pool!.release(claim, { retire: failed || recovered });
    for (const extra of extraClaims) await env.pool!.release(extra, { retire: failed });
    for (const p of onDemand) {
      p.client.close();
      await env.provider.release(p.rac.resource_id);
    }
  }
}

/**
 * What a checkpointed run is registered with in the home: the request's JSON part, enough to
 * run it again from its checkpoints after the orchestrator died (`resumeRequest`).
 */
export interface ResumableRequest {
  execution_id: string;
  tenant: string;
  flow_file: string;
  rprs: Rpr[];
  groups?: string[][];
  inputs?: Record<string, string>;
  out_dir: string;
  stores?: Record<string, StoreSpec>;
  state_store?: string;
  chunk_bytes?: number;
  checkpoint_interval_ms?: number;
  max_recoveries?: number;
  max_dead_letter_ratio?: number;
  stall_timeout_ms?: number;
}

function resumableRequest(
  request: ExecutionRequest,
  executionId: string,
  tenant: string,
): ResumableRequest {
  const { groups, inputs, stores, state_store, chunk_bytes, checkpoint_interval_ms } = request;
  const { max_recoveries, max_dead_letter_ratio, stall_timeout_ms } = request;
  return {
    execution_id: executionId,
    tenant,
    flow_file: request.flow.file,
    rprs: request.rprs,
    out_dir: path.resolve(request.out_dir),
    ...(groups !== undefined ? { groups } : {}),
    ...(inputs !== undefined ? { inputs } : {}),
    ...(stores !== undefined ? { stores } : {}),
    ...(state_store !== undefined ? { state_store } : {}),
    ...(chunk_bytes !== undefined ? { chunk_bytes } : {}),
    ...(checkpoint_interval_ms !== undefined ? { checkpoint_interval_ms } : {}),
    ...(max_recoveries !== undefined ? { max_recoveries } : {}),
    ...(max_dead_letter_ratio !== undefined ? { max_dead_letter_ratio } : {}),
    ...(stall_timeout_ms !== undefined ? { stall_timeout_ms } : {}),
  };
}

/** Default checkpoint interval; see docs/recovery.md for how it was chosen. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;

/** The request's checkpoint interval, else `WARMFLOW_CHECKPOINT_INTERVAL_MS`, else the default. */
function checkpointInterval(request: ExecutionRequest): number {
  const env = process.env.WARMFLOW_CHECKPOINT_INTERVAL_MS;
  const [value, from] =
    request.checkpoint_interval_ms !== undefined
      ? [request.checkpoint_interval_ms, 'checkpoint_interval_ms']
      : env !== undefined && env.trim() !== ''
        ? [Number(env), 'WARMFLOW_CHECKPOINT_INTERVAL_MS']
        : [DEFAULT_CHECKPOINT_INTERVAL_MS, 'the default'];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new WarmflowError(
      'E_INVALID_REQUEST',
      `${from} must be a number of milliseconds (0 turns checkpoints off), not ${JSON.stringify(from === 'WARMFLOW_CHECKPOINT_INTERVAL_MS' ? env : value)}`,
    );
  return value;
}

/**
 * A resource for `group` to continue a run on after its resource died: from the warm pool
 * if a set there places the group (the rest of the set is held until the run ends), else
 * on demand.
 */
async function replaceResource(
  request: ExecutionRequest,
  env: ExecutionEnvironment,
  group: string[],
  tenant: string,
  version: string,
  /** Another size than the RPRs' (a resized live run): on demand, the pool's sets are not it. */
  size?: { cpu_cores: number },
): Promise<Replacement & { claim?: Claim }> {
  const claim =
    env.cold === true || size !== undefined
      ? null
      : (env.pool?.claim(request.flow.template.name, tenant, version) ?? null);
  if (claim !== null) {
    const placed = placeFromClaim(claim, [group]);
    if (placed !== null) return { ...placed[0], claim };
    await env.pool!.release(claim);
  }
  const { placed } = await provisionResources(request, env.provider, tenant, [group], size);
  return placed[0];
}

/** The whole cores a placed resource has (what a resized run's sizes are counted in). */
function cores(placed: { rac: Rac }): number {
  return Math.max(1, Math.round(placed.rac.rpr.cpu_cores));
}

/**
 * The resizer of a live run on one resource, or why it has none (a note for the status): the
 * size follows from CPU per record, the request's or the RPRs' of the group's functions
 * (added up: a record goes through each of them).
 */
function liveResizer(
  request: ExecutionRequest,
  env: ExecutionEnvironment,
  part: {
    run: ResizingRun | RecoveringRun;
    first: Placed;
    commit: LiveCommit;
    tenant: string;
    onDemand: Placed[];
  },
): LiveResizer | string {
  const options = request.live?.resize ?? {};
  const group = part.first.group;
  const functions = request.rprs.filter(
    (r) =>
      group.includes(r.node_id) &&
      request.flow.template.nodes.some((n) => n.id === r.node_id && n.kind === 'function'),
  );
  const fromRprs = functions.reduce(
    (sum, r) =>
      sum + (r.reasoning?.estimate?.cpu_us_per_record ?? r.reasoning?.per_record?.cpu_us ?? 0),
    0,
  );
  const cpuUs = options.cpu_us_per_record ?? fromRprs;
  if (!(cpuUs > 0))
    return 'not resized: no CPU per record (the RPRs carry no estimate; give live.resize.cpu_us_per_record)';
  const start = cores(part.first);
  const minCores = options.min_cores ?? 1;
  const maxCores = options.max_cores ?? Math.max(minCores, 4 * start);
  if (!(
    Number.isInteger(minCores) &&
    minCores >= 1 &&
    Number.isInteger(maxCores) &&
    maxCores >= minCores
  ))
    throw new WarmflowError(
      'E_INVALID_REQUEST',
      `live.resize: min_cores (${minCores}) and max_cores (${maxCores}) must be whole cores, 1 <= min_cores <= max_cores`,
    );
  if (options.drain_seconds !== undefined && !(options.drain_seconds > 0))
    throw new WarmflowError(
      'E_INVALID_REQUEST',
      `live.resize.drain_seconds must be a positive number of seconds, not ${options.drain_seconds}`,
    );
  const policy = new ResizePolicy({
    cpuUsPerRecord: cpuUs,
    cores: start,
    tuning: {
      minCores,
      maxCores,
      ...(options.drain_seconds !== undefined ? { drainSeconds: options.drain_seconds } : {}),
    },
  });
  return new LiveResizer({
    policy,
    run: part.run,
    first: part.first,
    commit: part.commit,
    provision: async (size) => {
      const { placed } = await provisionResources(request, env.provider, part.tenant, [group], {
        cpu_cores: size,
      });
      part.onDemand.push(placed[0]);
      return placed[0];
    },
    release: async (resource) => {
      // A resource of the warm pool goes back with its set when the run ends.
      const at = part.onDemand.findIndex((p) => p.rac.resource_id === resource.rac.resource_id);
      if (at < 0) return;
      part.onDemand.splice(at, 1);
      resource.client.close();
      await env.provider.release(resource.rac.resource_id);
    },
    onResize: (resize) => env.onEvent?.('resized', { ...resize }),
  });
}

/** Why a live run was not checkpointed (so its delivery is at-least-once). */
function notCheckpointed(run: { interval: number; resources: number; keepState: boolean }): string {
  if (run.interval === 0) return 'checkpoints are off (checkpoint interval 0)';
  if (run.resources > 1) return 'a run on several resources is not checkpointed';
  if (run.keepState) return 'a run that keeps its state (keep_state) is not checkpointed';
  return 'a run that reads files as well as live streams is not checkpointed';
}

/** The request's stall timeout, else `WARMFLOW_STALL_TIMEOUT_MS`, else the default. */
function stallTimeout(request: ExecutionRequest): number {
  const env = process.env.WARMFLOW_STALL_TIMEOUT_MS;
  const [value, from] =
    request.stall_timeout_ms !== undefined
      ? [request.stall_timeout_ms, 'stall_timeout_ms']
      : env !== undefined && env.trim() !== ''
        ? [Number(env), 'WARMFLOW_STALL_TIMEOUT_MS']
        : [DEFAULT_STALL_TIMEOUT_MS, 'the default'];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new WarmflowError(
      'E_INVALID_REQUEST',
      `${from} must be a number of milliseconds (0 disables the stall watchdog), not ${JSON.stringify(from === 'WARMFLOW_STALL_TIMEOUT_MS' ? env : value)}`,
    );
  return value;
}

/** Why a claimed warm set fits none of the groups this execution places (see `planGroups`). */
function unusableClaimNote(claim: Claim, groups: string[][]): string {
  const held = claim.resources.map((r) => `[${r.rac.node_ids.join(', ')}]`).join(' ');
  const wanted = groups.map((g) => `[${g.join(', ')}]`).join(' ');
  return (
    `the warm pool's set was not used: its resources hold ${held}, this execution places ` +
    `${wanted}; it ran on on-demand resources (make the pool with the same placement groups)`
  );
}

function placeFromClaim(claim: Claim, groups: string[][]): Placed[] | null {
  const placed: Placed[] = [];
  for (const group of groups) {
    const resource = claim.resources.find((r) => group.every((id) => r.rac.node_ids.includes(id)));
    if (resource === undefined) return null;
    placed.push({ group, rac: resource.rac, client: resource.client, warm: true });
  }
  return placed;
}

/**
 * The spec's `provisionResources`: one on-demand resource per group, warmed with the stores
 * the request uses, each with an authenticated connection; all released again if one fails.
 * Also what engine calibration runs its passes on (`calibrateOnEngine`).
 */
export async function provisionResources(
  request: Pick<ExecutionRequest, 'flow' | 'rprs' | 'stores'>,
  provider: Provider,
  tenant: string,
  groups: string[][],
  /** Every resource with this many cores instead of its RPRs' (a live run resized). */
  size?: { cpu_cores: number },
): Promise<{ token: string; placed: Placed[] }> {
  const plans = planResources(request.flow, request.rprs, groups).map((plan) =>
    size === undefined ? plan : { ...plan, rpr: { ...plan.rpr, cpu_cores: size.cpu_cores } },
  );
  const token = randomBytes(24).toString('hex');
  const placed: Placed[] = [];
  try {
    await Promise.all(
      plans.map(async (plan, i) => {
        const rac = await provider.provision({
          tenant,
          template: request.flow.template.name,
          rpr: plan.rpr,
          node_ids: plan.node_ids,
          // Warmed with the stores this request uses (overrides included), so connecting
          // to them is part of provisioning, not of the deploy the run waits for.
          warm: { ...plan.warm, stores: runStores(request.flow, request.stores) },
          token,
        });
        const client = await WorkerClient.connect(rac.network_address, token, { channels: true });
        placed[i] = { group: groups[i], rac, client, warm: false };
      }),
    );
  } catch (error) {
    for (const p of placed.filter(Boolean)) {
      p.client.close();
      await provider.release(p.rac.resource_id);
    }
    throw error;
  }
  return { token, placed };
}

/**
 * Before the run, in persistent stores: clears the keyed state of the previous execution
 * (unless `keep_state`) and loads the lookup tables' seeds (memory stores are seeded in
 * every thread instead).
 */
async function prepareStores(
  request: ExecutionRequest,
  stores: Record<string, StoreSpec>,
  groups: string[][],
  executionId: string,
  /** Kept connections (a pool's owner); else each store is opened and closed here. */
  connections?: StoreConnections,
): Promise<void> {
  const use = async <T>(name: string, spec: StoreSpec, work: (store: DataStore) => Promise<T>) => {
    if (connections !== undefined) return connections.use(name, spec, work);
    const store = await openStore(name, spec);
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };
  // A resumed run's stores hold the state of the epochs they committed. Memory stores start
  // empty with every run: without a persistent store there is no state to drop.
  const persistent = Object.values(stores).some((spec) => spec.kind !== 'memory');
  if (persistent && request.keep_state !== true && request.resume !== true) {
    for (const group of groups) {
      const spec = buildDeploySpec({
        executionId,
        flow: request.flow,
        nodeIds: group,
        rprs: request.rprs,
        sources: [],
        stores,
        ...(request.state_store !== undefined ? { stateStore: request.state_store } : {}),
      });
      for (const [node, name] of Object.entries(spec.state_stores)) {
        const storeSpec = stores[name];
        if (storeSpec === undefined || storeSpec.kind === 'memory') continue;
        await use(name, storeSpec, (store) =>
          store.drop(`state/${request.flow.template.name}/${node}`),
        );
      }
    }
  }
  // Loaded once per content of the file, not on every run (see primeSeed).
  for (const { seed, store: storeSpec, always } of persistentSeeds(request.flow, stores))
    await use(seed.store, storeSpec, (store) => primeSeed(store, seed, { always }));
}

async function feedPushSources(
  sources: ReturnType<typeof resolveSources>,
  /** The resources now (a resized live run moves to another one). */
  sessions: () => ResourceSession[],
  rate: number | undefined,
  feeders: Map<string, FeederStats>,
  sinks: SinkFiles,
  live: {
    flow: string;
    commit: LiveCommit | null;
    limits: LiveLimits;
    budget: LiveBudget;
    signal?: AbortSignal;
    onBatch?: (source: string, records: number, bytes: number) => void;
    monitor?: LiveMonitor;
    /** Called once every source is done, before the resources are told to end. */
    beforeEnd?: () => Promise<void>;
  },
): Promise<void> {
  const counts = new Map<ResourceSession, Record<string, number>>();
  // Every feeder runs to its end (one whose resource failed ends at once) and every
  // resource gets `df.end`, so one failed resource never leaves another waiting for input.
  const fed = await Promise.allSettled(
    sources
      .filter((s) => s.mode === 'push')
      .map(async (source) => {
        const find = (): ResourceSession =>
          sessions().find(
            (s) => s.rac.node_ids.includes(source.node_id) || s.rac.node_ids.length === 0,
          ) ?? sessions()[0];
        const session = find();
        if (source.live) {
          const fed = await feedLive({
            node_id: source.node_id,
            flow: live.flow,
            stream: source.stream,
            input: source.input,
            session: find,
            commit: live.commit!,
            limits: live.limits,
            budget: live.budget,
            ...(live.signal !== undefined ? { signal: live.signal } : {}),
            ...(live.onBatch !== undefined
              ? { onBatch: (n: number, b: number) => live.onBatch!(source.stream, n, b) }
              : {}),
            ...(live.monitor !== undefined
              ? { observe: (items) => live.monitor!.observe(source.stream, items) }
              : {}),
          });
          // Its batch counts per resource are the live commit's.
          feeders.set(source.node_id, fed);
          return;
        }
        const fed = await feedSource({
          source: source.node_id,
          input: source.opened ?? source.input,
          ...(source.fields !== undefined ? { open: { fields: source.fields } } : {}),
          ...(rate !== undefined ? { rate } : {}),
          send: (batch) => session.push(batch),
        });
        feeders.set(source.node_id, fed);
        if (fed.malformed.length > 0) {
          const lines = fed.malformed.map((m) =>
            JSON.stringify({
              node_id: source.node_id,
              error: { type: 'SyntaxError', message: m.error, retryable: false },
              input: { source: source.node_id, line: m.line },
            }),
          );
          await sinks.write(DEAD_LETTER_TYPE, lines.length, Buffer.from(lines.join('\n') + '\n'));
        }
        counts.set(session, { ...(counts.get(session) ?? {}), [source.node_id]: fed.batches });
      }),
  );
  await live.beforeEnd?.().catch(() => undefined);
  const failed = fed.find((f): f is PromiseRejectedResult => f.status === 'rejected');
  // A checkpointed live run ends its resource once the last epoch is recorded (on whichever
  // resource runs it by then).
  if (live.commit?.checkpointed === true) {
    if (failed === undefined) await live.commit.end();
    else live.commit.endNow();
  } else
    for (const session of sessions())
      session.end({ ...(counts.get(session) ?? {}), ...(live.commit?.countsFor(session) ?? {}) });
  if (failed !== undefined) throw failed.reason;
}

/**
 * A checkpoint store still opening: each call waits for it, and fails as it failed. `finish`
 * of one that never opened has nothing to forget (nothing was recorded in it).
 */
function openingStore(opening: Promise<CheckpointStore>): CheckpointStore {
  return {
    begin: async (run, request) => (await opening).begin(run, request),
    save: async (run, part, checkpoint, changes) =>
      (await opening).save(run, part, checkpoint, changes),
    latest: async (run, part) => (await opening).latest(run, part),
    unfinished: async () => (await opening).unfinished(),
    finish: (run) =>
      opening.then(
        (store) => store.finish(run),
        () => undefined,
      ),
    close: async () => (await opening).close(),
  };
}
