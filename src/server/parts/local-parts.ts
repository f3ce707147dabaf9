import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { executeDataflow } from '../../execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../../execute/plan.js';
import { ruleRprs } from '../../execute/rule-rprs.js';
import { recordRun } from '../../execute/run-flow.js';
import type { HistoryStore } from '../../history/history-store.js';
import { predict } from '../../predictor/predict.js';
import type { Rpr } from '../../predictor/rpr.js';
import { profile } from '../../profiler/profile.js';
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
import { loadedFlowOf } from './loaded-flow.js';

/** What the server's parts run on: the pool owner's service and provider, history, folders. */
export interface LocalPartsConfig {
  service: PreProvisioningService;
  provider: Provider;
  history: () => Promise<HistoryStore>;
  /** Where each run's sinks and dead letters go: `<outRoot>/<tenant>/<execution id>`. */
  outRoot: string;
  fileRoots: readonly string[];
  /** Records the profiler reads from a source (default 20,000, as `warmflow run`). */
  sample?: number;
}

/** Records profiled from a source. */
export function profilerPart(config: Pick<LocalPartsConfig, 'sample'>): ProfilerPort {
  return {
    profile: (input) =>
      profile('records' in input ? input.records : input.source, {
        sample: config.sample ?? 20_000,
      }),
  };
}

/**
 * Predictions as `warmflow run` makes them: the predictor with history, the plain
 * rule when there is no profile or the predictor cannot run, then fitted to the
 * provider's free cores so a pool can actually be provisioned.
 */
export function predictorPart(config: LocalPartsConfig): PredictorPort {
  return {
    async predict({ tenant, flow, dcp }) {
      const loaded = await loadedFlowOf(flow, config.fileRoots);
      let rprs: Rpr[];
      try {
        if (dcp === null) throw new Error('no profile');
        rprs = (await predict({ flow: loaded, dcp, history: await config.history(), tenant })).rprs;
      } catch {
        rprs = ruleRprs(flow.template, dcp?.volume.avg_record_size || 200);
      }
      const capacity = await config.provider.capacity();
      return fitGroupRprs(
        rprs,
        planGroups(flow.template),
        Math.max(1, capacity.cpu_cores - capacity.allocated.cpu_cores),
      );
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
  };
}

/** Warm pools of the Pre-Provisioning Service, one per (tenant, template); the pool id is the template name. */
export function poolsPart(config: LocalPartsConfig): PoolsPort {
  const flowOfPool = new Map<string, string>();
  const key = (tenant: string, template: string) => `${tenant}\u0000${template}`;
  return {
    async preProvision({ tenant, flow, rprs }) {
      const loaded = await loadedFlowOf(flow, config.fileRoots);
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

/** Runs through the execution manager (warm claim, else on demand) and records each run in history. */
export function executorPart(config: LocalPartsConfig): ExecutorPort {
  return {
    async execute(input) {
      const loaded = await loadedFlowOf(input.flow, config.fileRoots);
      const outDir = path.join(config.outRoot, input.tenant, input.execution_id);
      mkdirSync(outDir, { recursive: true });
      const inputs: Record<string, string> = {};
      if (input.source !== undefined) inputs['*'] = input.source;
      if (input.records !== undefined) {
        const file = path.join(outDir, 'input.jsonl');
        writeFileSync(file, input.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
        inputs['*'] = file;
      }
      const rprs = input.rprs ?? ruleRprs(input.flow.template, 200);
      const status = await executeDataflow(
        {
          execution_id: input.execution_id,
          tenant: input.tenant,
          flow: loaded,
          rprs,
          groups: planGroups(loaded.template),
          inputs,
          out_dir: outDir,
        },
        {
          provider: config.provider,
          pool: config.service,
          onEvent: (event) => {
            if (event === 'claimed' || event === 'provisioned')
              input.onProgress(progressOf(input.flow, 'running'));
          },
        },
      );
      input.onProgress(
        status.nodes.map((n) => ({
          node_id: n.node_id,
          state:
            status.outcome === 'succeeded'
              ? 'succeeded'
              : status.error?.node_id === n.node_id
                ? 'failed'
                : 'succeeded',
          records_in: n.records_in,
          records_out: n.records_out,
        })),
      );
      await recordRun(await config.history(), loaded, input.dcp, rprs, status);
      return status;
    },
  };
}
