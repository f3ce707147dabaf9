import path from 'node:path';
import type { Dcp } from '../profiler/dcp.js';
import type { Rpr } from '../predictor/rpr.js';
import type { CompletionStatus } from '../execute/completion-status.js';
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
import { jsonErrorLog } from './json-log.js';
import { PoolTimeline } from './pool-timeline.js';
import type { PolicyKeeper } from '../policy/live/policy-keeper.js';
import { ServerMetrics } from './server-metrics.js';
import { TenantScopedMap } from './tenant-scoped-map.js';

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
  status: 'running' | CompletionStatus['outcome'];
  submitted_at: string;
  nodes: NodeProgress[];
  rprs: Rpr[] | null;
  dcp: Dcp | null;
  completion: CompletionStatus | null;
  /** Why a run could not start or crashed (a run that ran and failed says so in `completion`). */
  error?: { code: string; message: string };
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
  timeline: PoolTimeline;
  /** Runs still going, so `close` can wait for them. */
  running: Set<Promise<unknown>>;
  /** The keep-alive policy run on execution requests (`serve --keep-alive-policy`). */
  keeper?: PolicyKeeper;
}

/** Builds the state of a new app. */
export function createAppState(deps: AppDeps, options: AppOptions = {}): AppState {
  return {
    deps,
    fileRoots: options.fileRoots ?? [process.cwd()],
    areas: options.areas ?? defaultAreas(options.fileRoots ?? [process.cwd()]),
    catalogue: options.catalogue ?? new StoreCatalogue(),
    metrics: options.metrics ?? new ServerMetrics(),
    log: options.log ?? jsonErrorLog,
    limiter: new RateLimiter(),
    slots: new ExecutionSlots(),
    ledger: new ResourceLedger(),
    requestSlots: new InFlightSlots('concurrent_requests'),
    flows: new TenantScopedMap(),
    profiles: new TenantScopedMap({ maxPerTenant: 200 }),
    executions: new TenantScopedMap({ maxPerTenant: 500 }),
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
