import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { resourceMemoryRequestGb } from '../execute/resource-request.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { LiveSpares } from '../execute/live-resizer.js';
import type { PoolView } from './ports.js';

/**
 * The server's Prometheus metrics, in a registry of its own (so two servers in one
 * process, as in tests, do not collide). Pool sizes are read from the pools at
 * scrape time; run figures are recorded when a run completes.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #poolResources: Gauge;
  readonly #warmHits: Counter;
  readonly #fallbacks: Counter;
  readonly #firstRecord: Histogram;
  readonly #recordsPerSecond: Gauge;
  readonly #predictionError: Histogram;
  readonly #requests: Counter;
  readonly #executions: Counter;
  readonly #refused: Counter;
  readonly #byProvisioning: Counter;
  readonly #liveRate: Gauge;
  readonly #liveLag: Gauge;
  readonly #liveRecordBytes: Gauge;
  readonly #liveCores: Gauge;
  readonly #liveResizes: Counter;
  readonly #liveSpares: Counter;
  /** Each resized live execution's tenant, and its resizes and spares already counted. */
  readonly #resizesSeen = new Map<
    string,
    { tenant: string; counted: number; spares: LiveSpares }
  >();
  /** The label sets of each live execution's streams, removed when it ends. */
  readonly #liveSeries = new Map<string, Array<Record<string, string>>>();
  /** The (tenant, template) series of the per-template gauge, so dead ones can go. */
  readonly #templateSeries = new Map<string, { tenant: string; template: string }>();

  constructor() {
    const registers = [this.registry];
    this.#poolResources = new Gauge({
      name: 'warmflow_pool_resources',
      help: 'Resources in warm pools, by tenant and status',
      labelNames: ['tenant', 'status'],
      registers,
    });
    this.#warmHits = new Counter({
      name: 'warmflow_warm_hits_total',
      help: 'Nodes that ran on a resource from the warm pool',
      labelNames: ['tenant'],
      registers,
    });
    this.#fallbacks = new Counter({
      name: 'warmflow_on_demand_fallbacks_total',
      help: 'Nodes that had no warm resource and were provisioned on demand',
      labelNames: ['tenant'],
      registers,
    });
    this.#firstRecord = new Histogram({
      name: 'warmflow_request_to_first_record_seconds',
      help: 'Execution request received to first output record written',
      labelNames: ['tenant'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#recordsPerSecond = new Gauge({
      name: 'warmflow_records_per_second',
      help: 'Records in per second of the latest completed run',
      labelNames: ['tenant', 'template'],
      registers,
    });
    const liveLabels = ['tenant', 'execution', 'stream'];
    this.#liveRate = new Gauge({
      name: 'warmflow_live_records_per_second',
      help: 'Records per second a live execution reads per stream (last 60 s, from the stream’s stored times)',
      labelNames: liveLabels,
      registers,
    });
    this.#liveLag = new Gauge({
      name: 'warmflow_live_lag_messages',
      help: 'Messages of a live execution’s consumer group not acknowledged yet (pending + unread)',
      labelNames: liveLabels,
      registers,
    });
    this.#liveRecordBytes = new Gauge({
      name: 'warmflow_live_avg_record_bytes',
      help: 'Average message size a live execution reads per stream (last 60 s)',
      labelNames: liveLabels,
      registers,
    });
    this.#liveCores = new Gauge({
      name: 'warmflow_live_cores',
      help: 'Cores a resized live execution runs on now',
      labelNames: ['tenant', 'execution'],
      registers,
    });
    this.#liveResizes = new Counter({
      name: 'warmflow_live_resizes_total',
      help: 'Resizes of running live executions (direction grow or shrink; refused: not carried out)',
      labelNames: ['tenant', 'direction', 'result'],
      registers,
    });
    this.#liveSpares = new Counter({
      name: 'warmflow_live_spares_total',
      help: 'Resources warmed ahead of a grow of a live execution, by outcome: started, used (taken by the grow), released (unused: the lean went or the run ended), failed (not had)',
      labelNames: ['tenant', 'outcome'],
      registers,
    });
    this.#predictionError = new Histogram({
      name: 'warmflow_prediction_error_ratio',
      help: 'Per node |predicted - measured| / predicted, for cpu cores and memory',
      labelNames: ['resource'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.#requests = new Counter({
      name: 'warmflow_http_requests_total',
      help: 'HTTP requests by status class',
      labelNames: ['status'],
      registers,
    });
    this.#executions = new Counter({
      name: 'warmflow_executions_total',
      help: 'Completed executions by outcome',
      labelNames: ['tenant', 'outcome'],
      registers,
    });
    this.#refused = new Counter({
      name: 'warmflow_executions_refused_total',
      help: 'Execution requests refused before they ran, by error code (E_QUOTA, E_CAPACITY, …)',
      labelNames: ['tenant', 'code'],
      registers,
    });
    this.#byProvisioning = new Counter({
      name: 'warmflow_executions_by_provisioning_total',
      help: 'Completed executions by where their resources came from: warm (a warm hit), on_demand, mixed',
      labelNames: ['tenant', 'provisioning'],
      registers,
    });
  }

  /** Counts an execution request refused before it ran (quota, capacity, bad request). */
  refused(tenant: string, code: string): void {
    this.#refused.inc({ tenant, code });
  }

  /** Counts one answered request. */
  request(status: number): void {
    this.#requests.inc({ status: `${Math.floor(status / 100)}xx` });
  }

  /** Sets pool gauges from the pools as they are now. */
  pools(pools: readonly PoolView[]): void {
    this.#poolResources.reset();
    for (const pool of pools) {
      for (const rac of pool.resources)
        this.#poolResources.inc({ tenant: pool.tenant, status: rac.status });
    }
  }

  /**
   * Drops the per-template series of templates no longer registered, so a tenant
   * registering ever new template names cannot grow the scrape without bound: series
   * exist only for live templates (`live(tenant, template)`).
   */
  keepTemplates(live: (tenant: string, template: string) => boolean): void {
    for (const [key, labels] of this.#templateSeries) {
      if (live(labels.tenant, labels.template)) continue;
      this.#recordsPerSecond.remove(labels);
      this.#templateSeries.delete(key);
    }
  }

  /**
   * Sets the per-stream gauges of a running live execution. Series exist only while it
   * runs ({@link liveEnded} removes them), so the label sets stay bounded by the runs in flight.
   */
  live(
    tenant: string,
    execution: string,
    streams: Record<
      string,
      { records_per_second: number; avg_record_size: number; lag: number | null }
    >,
    resize?: {
      cpu_cores: number;
      resizes: ReadonlyArray<{ direction: string; switched_at: string | null; error?: string }>;
      spares?: LiveSpares;
    },
  ): void {
    if (resize !== undefined) {
      this.#liveCores.set({ tenant, execution }, resize.cpu_cores);
      this.#countResizes(tenant, execution, resize.resizes, resize.spares);
    }
    const series: Array<Record<string, string>> = [];
    for (const [stream, figures] of Object.entries(streams)) {
      const labels = { tenant, execution, stream };
      series.push(labels);
      this.#liveRate.set(labels, figures.records_per_second);
      this.#liveRecordBytes.set(labels, figures.avg_record_size);
      if (figures.lag !== null) this.#liveLag.set(labels, figures.lag);
    }
    this.#liveSeries.set(execution, series);
  }

  /**
   * Counts the resizes and spares of a live execution not counted yet: a resize counts once
   * decided and carried out (or refused), one under way waits for its outcome.
   */
  #countResizes(
    tenant: string,
    execution: string,
    resizes: ReadonlyArray<{ direction: string; switched_at: string | null; error?: string }>,
    spares: LiveSpares | undefined,
  ): void {
    const seen = this.#resizesSeen.get(execution) ?? {
      tenant,
      counted: 0,
      spares: { started: 0, used: 0, released: 0, failed: 0 },
    };
    const done = resizes.filter((r) => r.switched_at !== null || r.error !== undefined);
    for (const r of done.slice(seen.counted))
      this.#liveResizes.inc({
        tenant,
        direction: r.direction,
        result: r.error === undefined ? 'done' : 'refused',
      });
    seen.counted = Math.max(seen.counted, done.length);
    if (spares !== undefined)
      for (const outcome of ['started', 'used', 'released', 'failed'] as const) {
        const more = spares[outcome] - seen.spares[outcome];
        if (more > 0) this.#liveSpares.inc({ tenant, outcome }, more);
        seen.spares[outcome] = Math.max(seen.spares[outcome], spares[outcome]);
      }
    this.#resizesSeen.set(execution, seen);
  }

  /** Drops the series of a live execution that ended. */
  liveEnded(execution: string): void {
    for (const labels of this.#liveSeries.get(execution) ?? [])
      for (const gauge of [this.#liveRate, this.#liveLag, this.#liveRecordBytes])
        gauge.remove(labels);
    this.#liveSeries.delete(execution);
    const resized = this.#resizesSeen.get(execution);
    if (resized !== undefined) this.#liveCores.remove({ tenant: resized.tenant, execution });
    this.#resizesSeen.delete(execution);
  }

  /** Records what a finished run measured. */
  completed(status: CompletionStatus): void {
    const tenant = status.tenant;
    this.#executions.inc({ tenant, outcome: status.outcome });
    // What happened after the last live report (a spare released at the end, a last resize).
    if (status.live?.resizes !== undefined || status.live?.spares !== undefined)
      this.#countResizes(
        tenant,
        status.execution_id,
        status.live.resizes ?? [],
        status.live.spares,
      );
    this.#byProvisioning.inc({ tenant, provisioning: status.provisioning });
    const first = status.timings.request_to_first_record_ms;
    if (first !== null) this.#firstRecord.observe({ tenant }, first / 1000);
    if (status.timings.total_ms > 0) {
      const labels = { tenant, template: status.template };
      this.#recordsPerSecond.set(labels, status.records.in / (status.timings.total_ms / 1000));
      this.#templateSeries.set(JSON.stringify([tenant, status.template]), labels);
    }
    const seconds = Math.max(status.timings.total_ms / 1000, 1e-3);
    for (const node of status.nodes) {
      if (node.resource_id !== null) (node.warm ? this.#warmHits : this.#fallbacks).inc({ tenant });
      if (node.rpr === null) continue;
      if (node.rpr.cpu_cores > 0) {
        const measuredCores = node.cpu_seconds / seconds;
        this.#predictionError.observe(
          { resource: 'cpu' },
          Math.abs(node.rpr.cpu_cores - measuredCores) / node.rpr.cpu_cores,
        );
      }
      // The peak is the resource's, so it is compared with the whole resource's request.
      const requestedGb = resourceMemoryRequestGb(status.nodes, node) ?? 0;
      if (requestedGb > 0) {
        const measuredGb = node.peak_memory_bytes / 1024 ** 3;
        this.#predictionError.observe(
          { resource: 'memory' },
          Math.abs(requestedGb - measuredGb) / requestedGb,
        );
      }
    }
  }
}
