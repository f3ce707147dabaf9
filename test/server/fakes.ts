/**
 * In-memory stand-ins for the parts the server calls, so the HTTP layer (auth,
 * isolation, quotas, validation) is tested on its own. They behave like the real
 * ones in what the server relies on: per-tenant state, RACs per RPR, a
 * CompletionStatus per run with warm flags and measured usage.
 */
import type { Dcp } from '../../src/profiler/dcp.js';
import type { Rpr } from '../../src/predictor/rpr.js';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import type { RunRecord } from '../../src/history/history-store.js';
import type {
  ExecutionInput,
  ExecutorPort,
  HistoryPort,
  PoolView,
  PoolsPort,
  PredictorPort,
  ProfilerPort,
} from '../../src/server/ports.js';

export class FakeProfiler implements ProfilerPort {
  async profile(input: { records: unknown[] } | { source: string }): Promise<Dcp> {
    const records = 'records' in input ? input.records : [];
    const bytes = records.reduce<number>((sum, r) => sum + JSON.stringify(r).length, 0);
    return {
      dataTypeDistribution: { integer: 1 },
      cardinality: {},
      volume: {
        avg_record_size: records.length === 0 ? 0 : bytes / records.length,
        records_per_second: 0,
        rate_source: 'none',
        records: records.length,
        bytes,
      },
      schema_evolution_probability: 0,
      data_quality_score: 1,
      fields: {},
    };
  }
}

export class FakePredictor implements PredictorPort {
  constructor(
    readonly cores = 1,
    readonly memoryGb = 0.5,
  ) {}
  async predict({ flow }: Parameters<PredictorPort['predict']>[0]): Promise<Rpr[]> {
    return flow.template.nodes
      .filter((n) => n.kind === 'function')
      .map((n) => ({
        node_id: n.id,
        resource_type: 'CPU',
        cpu_cores: this.cores,
        memory_gb: this.memoryGb,
        gpu_enabled: false,
        data_store_instance: null,
      }));
  }
}

export class FakePools implements PoolsPort {
  readonly #pools = new Map<string, PoolView>();
  /** How long provisioning takes (a real pool starts processes): lets requests overlap. */
  delayMs = 0;
  async preProvision({
    tenant,
    flow,
    rprs,
  }: Parameters<PoolsPort['preProvision']>[0]): Promise<PoolView> {
    // As the real pools: one per (tenant, template); asking again replaces it.
    const id = `pool_${tenant}_${flow.template.name}`;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const pool: PoolView = {
      id,
      tenant,
      flow_id: flow.id,
      template: flow.template.name,
      created_at: new Date().toISOString(),
      resources: rprs.map((rpr, i) => ({
        resource_id: `${id}_r${i}`,
        status: 'ready',
        network_address: `127.0.0.1:${40000 + i}`,
        node_id: rpr.node_id,
        node_ids: [rpr.node_id],
        template: flow.template.name,
        tenant,
        provider: 'fake',
        ready_at: new Date().toISOString(),
        rpr,
      })),
      held: {
        cores: rprs.reduce((s, r) => s + r.cpu_cores, 0),
        memory_gb: rprs.reduce((s, r) => s + r.memory_gb, 0),
        warm_resources: rprs.length,
      },
    };
    this.#pools.set(id, pool);
    return pool;
  }
  async list(tenant: string): Promise<PoolView[]> {
    return [...this.#pools.values()].filter((p) => p.tenant === tenant);
  }
  async drain(tenant: string, id: string): Promise<boolean> {
    const pool = this.#pools.get(id);
    if (pool === undefined || pool.tenant !== tenant) return false;
    return this.#pools.delete(id);
  }
}

/** Runs "instantly" unless `gate` is set, in which case runs wait for it (to test concurrency). */
export class FakeExecutor implements ExecutorPort {
  gate: Promise<void> | undefined;
  readonly history: RunRecord[] = [];
  async execute(input: ExecutionInput): Promise<CompletionStatus> {
    const nodes = input.flow.template.nodes;
    input.onProgress(
      nodes.map((n) => ({ node_id: n.id, state: 'running', records_in: 0, records_out: 0 })),
    );
    if (this.gate !== undefined) await this.gate;
    const count = input.records?.length ?? 10;
    const now = new Date().toISOString();
    const status: CompletionStatus = {
      execution_id: input.execution_id,
      template: input.flow.template.name,
      tenant: input.tenant,
      outcome: 'succeeded',
      provisioning: 'warm',
      started_at: now,
      finished_at: now,
      timings: { request_to_first_record_ms: 3, request_to_ready_ms: 1, total_ms: 20 },
      records: { in: count, out: count, dead_lettered: 0 },
      dead_letter_file: null,
      nodes: nodes.map((n) => ({
        node_id: n.id,
        kind: n.kind,
        records_in: count,
        records_out: count,
        dead_lettered: 0,
        cpu_seconds: 0.01,
        cpu_us_per_record: 1000,
        peak_memory_bytes: 50 * 1024 * 1024,
        records_per_s: count * 50,
        rpr: input.rprs?.find((r) => r.node_id === n.id) ?? null,
        resource_id: n.kind === 'function' ? `r_${n.id}` : null,
        warm: true,
      })),
    };
    input.onProgress(
      nodes.map((n) => ({
        node_id: n.id,
        state: 'succeeded',
        records_in: count,
        records_out: count,
      })),
    );
    this.history.push({
      execution_id: input.execution_id,
      tenant: input.tenant,
      template: status.template,
      template_fingerprint: status.template,
      recorded_at: now,
      dcp: input.dcp,
      rprs: input.rprs ?? [],
      status,
    });
    return status;
  }
}

export class FakeHistory implements HistoryPort {
  constructor(readonly executor: FakeExecutor) {}
  async runs(filter: { tenant: string; template?: string; limit?: number }): Promise<RunRecord[]> {
    return this.executor.history
      .filter((r) => r.tenant === filter.tenant)
      .slice(0, filter.limit ?? 50);
  }
}
