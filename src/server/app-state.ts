import { QuotaExceededError, type Quotas } from '../tenancy/quotas.js';
import path from 'node:path';
import type { ErrorCode } from '../errors.js';
import type { Dcp } from '../profiler/dcp.js';
import type { Rpr } from '../predictor/rpr.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { LiveExecutionState } from './live-executions.js';
import { warmflowHome } from '../home.js';
import { StoreCatalogue } from '../stores/store-catalogue.js';
import { TenantAreas } from '../tenancy/tenant-area.js';
import { ResourceLedger } from '../tenancy/resource-ledger.js';
import { ExecutionSlots, InFlightSlots, RateLimiter } from '../tenancy/rate-limiter.js';
import type { TenancyPort } from './auth.js';
import type {
  ExecutorPort,
  FlowRecord,
  HistoryPort,
  NodeProgress,
  PoolsPort,
  PredictorPort,
  ProfilerPort,
  TemplatePort,
} from './ports.js';
import { jsonErrorLog } from '../json-log.js';
import { PoolTimeline } from './pool-timeline.js';
import type { PolicyKeeper } from '../policy/live/policy-keeper.js';
import { ServerMetrics } from './server-metrics.js';
import type { RecordKind, RecordStore } from './record-store.js';
import { TenantScopedMap, type PersistHooks } from './tenant-scoped-map.js';
import { TenantDisk } from './tenant-disk.js';
import { boundedCopy, compactCompletion } from './record-bounds.js';

/** Everything the app is built from; each part is one of the small ports. */
export interface AppDeps {
  tenancy: TenancyPort;
  template: TemplatePort;
  profiler: ProfilerPort;
  predictor: PredictorPort;
  pools: PoolsPort;
  executor: ExecutorPort;
  history: HistoryPort;
}

/** Options of the app. */
export interface AppOptions {
  /** Folders every tenant may read (the admin's shared roots); default the working directory. */
  fileRoots?: string[];
  /** The tenants' areas; default `$WARMFLOW_HOME/tenants` with `fileRoots` shared. */
  areas?: TenantAreas;
  /** The admin's network store instances and their grants; default none (sqlite and memory only). */
  catalogue?: StoreCatalogue;
  metrics?: ServerMetrics;
  /**
   * How long a request shed by the rate quota is held before its 429 (capped at its
   * Retry-After); default 500 ms. 0 answers at once.
   */
  shedDelayMs?: number;
  /**
   * Where flows, profiles and executions are kept across restarts (the home database in
   * `warmflow serve`); without it they live in memory only.
   */
  records?: RecordStore;
  /** Logs unexpected errors; default one JSON object a line on stderr ({@link jsonErrorLog}). */
  log?: (message: string, error: unknown) => void;
  /**
   * Runs a keep-alive policy (`fixed:K`, `hybrid`, `warmflow`, `warmflow:B`) on every
   * flow's execution requests: pools pre-warmed and released by it. `minuteMs` is one
   * policy minute (60 000; less compresses time).
   */
  keepAlivePolicy?: { spec: string; minuteMs: number };
}

/** A stored profile. */
export interface ProfileRecord {
  id: string;
  tenant: string;
  flow_id: string | null;
  created_at: string;
  dcp: Dcp;
}

/** One execution as the API shows it. */
export interface ExecutionRecord {
  id: string;
  tenant: string;
  flow_id: string;
  template: string;
  /** `interrupted`: the server stopped while the run was in flight; `nodes` show what it had done. */
  status: 'running' | 'interrupted' | CompletionStatus['outcome'];
  submitted_at: string;
  nodes: NodeProgress[];
  rprs: Rpr[] | null;
  dcp: Dcp | null;
  completion: CompletionStatus | null;
  /** A run on live streams: its rate, lag, real-time DCP and drift, about once a second. */
  live?: LiveExecutionState;
  /** Why a run could not start or crashed (a run that ran and failed says so in `completion`). */
  error?: { code: ErrorCode; message: string };
  /** Present when `completion` is kept in short form: why (its full form is in /v1/history). */
  trimmed?: string;
  /** A run a server restart continued from its last checkpoint: how many times, and when last. */
  resumed?: { times: number; at: string };
}

/** The state shared by the routes of one app. */
export interface AppState {
  deps: AppDeps;
  fileRoots: string[];
  /** Every path a tenant names resolves through these (see `TenantAreas.resolve`). */
  areas: TenantAreas;
  catalogue: StoreCatalogue;
  metrics: ServerMetrics;
  log: (message: string, error: unknown) => void;
  limiter: RateLimiter;
  slots: ExecutionSlots;
  /** On-demand resources of runs in flight, and one resource admission at a time per tenant. */
  ledger: ResourceLedger;
  /** Requests being handled per tenant (`concurrent_requests`). */
  requestSlots: InFlightSlots;
  flows: TenantScopedMap<FlowRecord>;
  profiles: TenantScopedMap<ProfileRecord>;
  executions: TenantScopedMap<ExecutionRecord>;
  /**
   * Throws 429 `memory_bytes` when adding `bytes` to what the tenant's flows, profiles and
   * execution records hold would go over its quota.
   */
  chargeMemory(tenant: { id: string; quotas: Quotas }, bytes: number): void;
  /**
   * Stores an execution record as its run reports progress or ends, charged against
   * `memory_bytes` at its new size: strings and lists in it bounded, then the tenant's oldest
   * finished execution records evicted (their runs stay in history) and, if it still does not
   * fit, its completion kept in short form. Mutates `record` to what is kept.
   */
  keepExecution(tenant: { id: string; quotas: Quotas }, record: ExecutionRecord): Promise<void>;
  /** What each tenant's area holds on disk, and admissions against `disk_bytes`. */
  disk: TenantDisk;
  timeline: PoolTimeline;
  /** Runs still going, so `close` can wait for them. */
  running: Set<Promise<unknown>>;
  /** The keep-alive policy run on execution requests (`serve --keep-alive-policy`). */
  keeper?: PolicyKeeper;
}

/** Builds the state of a new app. */
export function createAppState(deps: AppDeps, options: AppOptions = {}): AppState {
  const store = options.records;
  const log = options.log ?? jsonErrorLog;
  // A write nobody awaits (progress of a run, an eviction) that fails is logged; one a route
  // awaits fails that request too.
  const logged = (written: Promise<void>): Promise<void> => {
    written.catch((error: unknown) => log('could not store a server record', error));
    return written;
  };
  const persist = <T>(kind: RecordKind): PersistHooks<T> | undefined =>
    store === undefined
      ? undefined
      : {
          set: (tenant, id, value, encoded) => logged(store.put(kind, tenant, id, value, encoded)),
          delete: (tenant, id) => logged(store.delete(kind, tenant, id)),
        };
  const flows = new TenantScopedMap<FlowRecord>({ persist: persist('flow'), encode: jsonText });
  const profiles = new TenantScopedMap<ProfileRecord>({
    maxPerTenant: 200,
    persist: persist('profile'),
    encode: jsonText,
  });
  const executions = new TenantScopedMap<ExecutionRecord>({
    maxPerTenant: 500,
    persist: persist('execution'),
    encode: jsonText,
  });
  if (store !== undefined) {
    for (const { tenant, id, value } of store.all<FlowRecord>('flow'))
      flows.restore(tenant, id, value);
    for (const { tenant, id, value } of store.all<ProfileRecord>('profile'))
      profiles.restore(tenant, id, value);
    for (const { tenant, id, value } of store.all<ExecutionRecord>('execution')) {
      if (value.status === 'running') {
        // The server died under this run: say so, keeping the progress it had reported.
        value.status = 'interrupted';
        value.error = {
          code: 'E_INTERRUPTED',
          message:
            'the server stopped while this run was in flight; its nodes show what it had done. Run it again.',
        };
        void executions.set(tenant, id, value);
      } else executions.restore(tenant, id, value);
    }
  }
  const areas = options.areas ?? defaultAreas(options.fileRoots ?? [process.cwd()]);
  return {
    deps,
    fileRoots: options.fileRoots ?? [process.cwd()],
    areas,
    catalogue: options.catalogue ?? new StoreCatalogue(),
    metrics: options.metrics ?? new ServerMetrics(),
    log,
    limiter: new RateLimiter(),
    slots: new ExecutionSlots(),
    ledger: new ResourceLedger(),
    requestSlots: new InFlightSlots('concurrent_requests'),
    flows,
    profiles,
    executions,
    chargeMemory(tenant, bytes) {
      const held = flows.bytes(tenant.id) + profiles.bytes(tenant.id) + executions.bytes(tenant.id);
      if (held + bytes > tenant.quotas.memory_bytes)
        throw new QuotaExceededError('memory_bytes', tenant.quotas.memory_bytes, held + bytes);
    },
    disk: new TenantDisk(areas),
    keepExecution(tenant, record) {
      if (record.completion !== null) record.completion = boundedCopy(record.completion);
      if (record.error !== undefined) record.error = boundedCopy(record.error);
      const others = () =>
        flows.bytes(tenant.id) +
        profiles.bytes(tenant.id) +
        executions.bytes(tenant.id) -
        executions.sizeOf(tenant.id, record.id);
      const fits = () => others() + jsonSize(record) <= tenant.quotas.memory_bytes;
      for (const old of executions.list(tenant.id)) {
        if (fits()) break;
        if (old.id !== record.id && old.status !== 'running')
          void executions.delete(tenant.id, old.id);
      }
      if (!fits() && record.completion !== null && record.trimmed === undefined) {
        record.completion = compactCompletion(record.completion);
        record.trimmed =
          'the full completion status did not fit the memory_bytes quota: per-node details are in /v1/history';
      }
      return executions.set(tenant.id, record.id, record);
    },
    timeline: new PoolTimeline(),
    running: new Set(),
  };
}

/**
 * The tenant areas a server uses unless told otherwise: `$WARMFLOW_HOME/tenants/<tenant>`, the
 * admin's `fileRoots` shared read-only, and the rest of the home folder (database, admin key,
 * pool state) out of every tenant's reach even when a shared root contains it.
 */
export function defaultAreas(fileRoots: readonly string[]): TenantAreas {
  const home = warmflowHome();
  return new TenantAreas({
    root: path.join(home, 'tenants'),
    sharedRoots: fileRoots,
    denied: [home],
  });
}

/** What a record holds in the server, counted as the length of its JSON (what is stored of it). */
export function jsonSize(value: unknown): number {
  return jsonText(value).length;
}

/** A record's stored form: its JSON text ('' for a value JSON cannot hold). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? '';
}
