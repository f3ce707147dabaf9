import { WarmflowError } from '../../errors.js';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompletionStatus } from '../../execute/completion-status.js';
import { planGroups } from '../../execute/plan.js';
import { sharedCheckpointStore } from '../../checkpoint/sqlite-checkpoint-store.js';
import type { ResumableRequest } from '../../execute/execution-manager.js';
import { executeAndRecord } from '../../flow/execute-and-record.js';
import { processExists } from '../../process-exists.js';
import { planRprs } from '../../flow/plan-rprs.js';
import type { HistoryStore } from '../../history/history-store.js';
import type { PreProvisioningService } from '../../provision/pool/pre-provisioning-service.js';
import type { PoolStatus } from '../../provision/pool/warm-pool.js';
import type { Provider } from '../../provision/provider.js';
import type {
  ExecutorPort,
  FlowRecord,
  NodeProgress,
  PoolView,
  PoolsPort,
  PredictorPort,
  ProfilerPort,
} from '../ports.js';
import type { StoreCatalogue } from '../../stores/store-catalogue.js';
import type { LiveReport } from '../live-executions.js';
import type { SandboxMechanism } from '../../tenancy/sandbox.js';
import type { TenantAreas } from '../../tenancy/tenant-area.js';
import { calibrationSandbox, loadedFlowOf } from './loaded-flow.js';
import { BackgroundProcess } from '../background-process.js';

/** What the server's parts run on: the pool owner's service and provider, history, folders. */
export interface LocalPartsConfig {
  service: PreProvisioningService;
  provider: Provider;
  history: () => Promise<HistoryStore>;
  /** Tenant areas: every path of a flow resolves inside them; each run's output goes to `<area>/data/runs/<execution id>`. */
  areas: TenantAreas;
  /** The admin's network store instances and their grants. */
  catalogue?: StoreCatalogue;
  /** How calibration children running tenant code are confined (workers: the provider's). */
  sandbox?: SandboxMechanism;
  /** Records the profiler reads from a source (default 20,000, as `warmflow run`). */
  sample?: number;
  /** Per-run folders kept per tenant; older ones are deleted as new runs start. Default 100. */
  keepRuns?: number;
}

/**
 * Deletes a tenant's oldest run folders beyond `keep` (the one just made counts), so
 * the inputs and outputs of every request ever made do not pile up in the home folder.
 * Asynchronous, so deleting large outputs never holds the event loop.
 */
export async function pruneRuns(tenantDir: string, keep: number, current: string): Promise<void> {
  let entries: Array<{ dir: string; mtime: number }>;
  try {
    const dirs = (await readdir(tenantDir, { withFileTypes: true })).filter(
      (entry) => entry.isDirectory() && entry.name !== current,
    );
    entries = await Promise.all(
      dirs.map(async (entry) => {
        const dir = path.join(tenantDir, entry.name);
        return { dir, mtime: (await stat(dir)).mtimeMs };
      }),
    );
  } catch {
    return;
  }
  entries.sort((a, b) => a.mtime - b.mtime);
  for (const { dir } of entries.slice(0, Math.max(0, entries.length - (keep - 1))))
    await rm(dir, { recursive: true, force: true });
}

/** Records profiled from a source. */
export function profilerPart(
  config: Pick<LocalPartsConfig, 'sample'> & { background?: BackgroundProcess },
): ProfilerPort {
  const background = config.background ?? new BackgroundProcess();
  return {
    profile: (input, { tenant, signal }) =>
      background.profile(
        'records' in input ? input.records : input.source,
        { sample: config.sample ?? 20_000 },
        tenant,
        signal,
      ),
    profileBody: (body, { tenant, maxDepth, signal }) =>
      background.profileBody(body, { sample: config.sample ?? 20_000, maxDepth }, tenant, signal),
  };
}

/**
 * Predictions as `warmflow run` makes them (the pipeline's predict stage): the predictor
 * with history, else the plain rule, whose RPRs then say in their notes why the predictor
 * could not run; fitted to the provider's free cores so a pool can actually be provisioned.
 */
export function predictorPart(config: LocalPartsConfig): PredictorPort {
  return {
    async predict({ tenant, flow, dcp }) {
      const loaded = await loadedFlowOf(flow, config.areas, config.catalogue);
      const planned = await planRprs({
        flow: loaded,
        dcp,
        groups: planGroups(loaded.template),
        provider: config.provider,
        history: await config.history(),
        tenant,
        // Calibration runs the tenant's functions: in its area, with nothing of the server's.
        calibrate: {
          sandbox: calibrationSandbox(config.areas, tenant, loaded, config.sandbox ?? 'none'),
        },
      });
      return planned.rprs;
    },
  };
}

function poolView(status: PoolStatus, flowId: string): PoolView {
  const resources = status.sets.flatMap((set) =>
    set.resources.map((rac) =>
      set.state === 'claimed' ? { ...rac, status: 'claimed' as const } : rac,
    ),
  );
  return {
    id: status.template,
    tenant: status.tenant,
    flow_id: flowId,
    template: status.template,
    created_at: status.sets[0]?.resources[0]?.ready_at ?? new Date().toISOString(),
    resources,
    held: {
      cores: status.held.cpu_cores,
      memory_gb: status.held.memory_gb,
      warm_resources: status.held.resources,
    },
    last_error: status.last_error,
    ...(status.given_up === undefined ? {} : { given_up: status.given_up }),
  };
}

/** Warm pools of the Pre-Provisioning Service, one per (tenant, template); the pool id is the template name. */
export function poolsPart(config: LocalPartsConfig): PoolsPort {
  const flowOfPool = new Map<string, string>();
  const key = (tenant: string, template: string) => `${tenant}\u0000${template}`;
  return {
    async preProvision({ tenant, flow, rprs }) {
      const loaded = await loadedFlowOf(flow, config.areas, config.catalogue);
      flowOfPool.set(key(tenant, flow.template.name), flow.id);
      // The execution manager claims by the same groups; a pool planned otherwise would never be used.
      await config.service.preProvision({
        flow: loaded,
        rprs,
        tenant,
        groups: planGroups(flow.template),
        sets: 1,
      });
      const status = config.service.status({ tenant, template: flow.template.name })[0];
      // Taken down (a drain, a policy's release) while it was being filled.
      if (status === undefined)
        throw new WarmflowError(
          'E_POOL_CLOSED',
          `the pool of ${flow.template.name} was released before it was ready`,
        );
      return poolView(status, flow.id);
    },
    async list(tenant) {
      return config.service
        .status({ tenant })
        .map((s) => poolView(s, flowOfPool.get(key(tenant, s.template)) ?? ''));
    },
    async drain(tenant, poolId) {
      return (await config.service.down({ tenant, template: poolId })) > 0;
    },
  };
}

function progressOf(flow: FlowRecord, state: NodeProgress['state']): NodeProgress[] {
  return flow.template.nodes.map((n) => ({ node_id: n.id, state, records_in: 0, records_out: 0 }));
}

/**
 * Each node's final state as the run's status tells it: every node of a succeeded run
 * succeeded; every node of a run that did not is `failed` (its outputs are incomplete;
 * the status's error names the node that caused it).
 */
export function finalProgress(status: CompletionStatus): NodeProgress[] {
  return status.nodes.map((n) => ({
    node_id: n.node_id,
    state: status.outcome === 'succeeded' ? 'succeeded' : 'failed',
    records_in: n.records_in,
    records_out: n.records_out,
  }));
}

/**
 * Runs `run`; when it cannot start for want of machine capacity (`E_CAPACITY`), releases
 * idle warm pools — any tenant's, never one something is claimed from nor the run's own —
 * least useful first (the soonest to expire, i.e. the least recently used), and tries
 * again after each. Warm capacity is a bet on the future; it never blocks a run now.
 */
export async function withIdleWarmReleased<T>(
  service: Pick<PreProvisioningService, 'status' | 'down'>,
  tenant: string,
  template: string,
  run: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof WarmflowError) || error.code !== 'E_CAPACITY') throw error;
      const idle = service
        .status()
        .filter(
          (p) =>
            p.claimed_sets === 0 &&
            p.held.resources > 0 &&
            !(p.tenant === tenant && p.template === template),
        )
        .sort((a, b) => (a.expires_at ?? '').localeCompare(b.expires_at ?? ''));
      if (idle.length === 0) throw error;
      await service.down({ tenant: idle[0].tenant, template: idle[0].template });
    }
  }
}

/** Runs through the pipeline's execute and record stages (warm claim, else on demand). */
/**
 * The request a checkpointed run of this server registered in the home (its inputs, RPRs,
 * groups and output folder), to resume it; refused unless it is the tenant's and wrote into
 * the tenant's own run folder.
 */
async function registeredRun(
  executionId: string,
  tenant: string,
  outDir: string,
): Promise<ResumableRequest> {
  const store = await sharedCheckpointStore();
  const found = (await store.unfinished()).find((r) => r.run === executionId);
  const request = found?.request as ResumableRequest | undefined;
  if (
    request === undefined ||
    request.tenant !== tenant ||
    request.out_dir !== path.resolve(outDir)
  )
    throw new WarmflowError(
      'E_RESUME',
      `execution ${executionId} has no checkpoint of this tenant's to resume from`,
    );
  return request;
}

export function executorPart(config: LocalPartsConfig): ExecutorPort {
  return {
    async execute(input) {
      const loaded = await loadedFlowOf(input.flow, config.areas, config.catalogue);
      // In the tenant's area: its workers may read the posted records, and the run's output is its own.
      const tenantDir = path.join(config.areas.area(input.tenant).data, 'runs');
      const outDir = path.join(tenantDir, input.execution_id);
      // A resumed run continues with what it was registered with: its inputs (the posted
      // records are still in its folder), RPRs, groups and output folder.
      const registered =
        input.resume === true
          ? await registeredRun(input.execution_id, input.tenant, outDir)
          : undefined;
      // A tenant's inputs and outputs: the server user's only (folders 0700, files 0600).
      await mkdir(outDir, { recursive: true, mode: 0o700 });
      await pruneRuns(tenantDir, config.keepRuns ?? 100, input.execution_id);
      const inputs: Record<string, string> = { ...registered?.inputs };
      if (registered === undefined && input.source !== undefined) inputs['*'] = input.source;
      if (registered === undefined && input.records !== undefined) {
        const file = path.join(outDir, 'input.jsonl');
        await writeFile(file, input.records.map((r) => JSON.stringify(r)).join('\n') + '\n', {
          mode: 0o600,
        });
        inputs['*'] = file;
      }
      // A pool of an older version of this flow never runs: its resources go back first.
      if (loaded.grant !== undefined)
        await config.service.retireStale(loaded.template.name, input.tenant, loaded.grant.version);
      const groups = registered?.groups ?? planGroups(loaded.template);
      // Without RPRs from the API, the run is sized as a prediction without a profile is.
      const rprs =
        registered?.rprs ??
        input.rprs ??
        (await planRprs({ flow: loaded, dcp: null, groups, provider: config.provider })).rprs;
      const deadLetters = registered?.max_dead_letter_ratio ?? input.max_dead_letter_ratio;
      const history = await config.history();
      const run = () =>
        executeAndRecord(
          {
            execution_id: input.execution_id,
            tenant: input.tenant,
            flow: loaded,
            rprs,
            groups,
            inputs,
            out_dir: outDir,
            ...(deadLetters !== undefined ? { max_dead_letter_ratio: deadLetters } : {}),
            ...(input.live !== undefined ? { live: input.live } : {}),
            ...(registered?.chunk_bytes !== undefined
              ? { chunk_bytes: registered.chunk_bytes }
              : {}),
            ...(registered?.checkpoint_interval_ms !== undefined
              ? { checkpoint_interval_ms: registered.checkpoint_interval_ms }
              : {}),
            ...(registered !== undefined ? { resume: true } : {}),
          },
          {
            provider: config.provider,
            pool: config.service,
            cold: input.cold === true,
            ...(input.signal !== undefined ? { signal: input.signal } : {}),
            onEvent: (event, detail) => {
              if (event === 'claimed' || event === 'provisioned')
                input.onProgress(progressOf(input.flow, 'running'));
              if (event === 'live' && detail !== undefined)
                input.onLive?.(detail as unknown as LiveReport);
            },
          },
          { history, dcp: input.dcp },
        );
      const status = await withIdleWarmReleased(
        config.service,
        input.tenant,
        loaded.template.name,
        run,
      );
      input.onProgress(finalProgress(status));
      return status;
    },
    async interrupted() {
      const store = await sharedCheckpointStore();
      // A run whose orchestrator still lives (another process on this home) is not ours to resume.
      return (await store.unfinished())
        .filter((r) => r.pid !== process.pid && !processExists(r.pid))
        .map((r) => ({
          execution_id: r.run,
          tenant: (r.request as Partial<ResumableRequest>).tenant ?? '',
        }));
    },
    async forget(executionId) {
      await (await sharedCheckpointStore()).finish(executionId);
    },
  };
}
