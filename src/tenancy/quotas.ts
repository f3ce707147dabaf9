import os from 'node:os';
import { WarmflowError, type ErrorCode } from '../errors.js';

/**
 * What one tenant may hold and ask for at once. Resource quotas (`cores`,
 * `memory_gb`, `warm_resources`) bound what its pools and runs hold together;
 * `concurrent_executions` bounds runs in flight; `max_body_bytes` bounds one request
 * body; `requests_per_second` / `request_burst` are a token bucket that sheds a
 * flooding tenant with 429 before it can starve the others (a read costs one
 * token, a request that makes the server compute, e.g. a POST, costs
 * {@link COSTLY_REQUEST_TOKENS}).
 */
export interface Quotas {
  cores: number;
  memory_gb: number;
  warm_resources: number;
  concurrent_executions: number;
  /** Requests of the tenant being handled at once (a flood is shed at the door, not queued). */
  concurrent_requests: number;
  max_body_bytes: number;
  requests_per_second: number;
  request_burst: number;
  /**
   * What the tenant's flows, profiles and execution records may hold in the server, measured
   * as the length of each record's JSON (what the home database stores of it).
   */
  memory_bytes: number;
  /**
   * What the tenant's area on the server's disk may hold, in bytes: code bundles, posted
   * inputs, run outputs and store files, measured as the sizes of its files.
   */
  disk_bytes: number;
}

/** The name of one quota, as error bodies and metrics name it. */
export type QuotaName = keyof Quotas;

/** Names of every quota, in a stable order. */
export const QUOTA_NAMES: readonly QuotaName[] = Object.freeze([
  'cores',
  'memory_gb',
  'warm_resources',
  'concurrent_executions',
  'concurrent_requests',
  'max_body_bytes',
  'requests_per_second',
  'request_burst',
  'memory_bytes',
  'disk_bytes',
]);

const machineCores = Math.max(1, os.availableParallelism());
const machineGb = os.totalmem() / 2 ** 30;

/**
 * Quotas a new tenant gets unless told otherwise, fitted to this machine: its cores (at
 * most 8) and three quarters of its memory (at most 16 GB), so a default tenant is never
 * promised what the machine does not have. Idle warm pools never make these a reason
 * to refuse another tenant's run: an execution releases idle warm resources first.
 */
export const DEFAULT_QUOTAS: Readonly<Quotas> = Object.freeze({
  cores: Math.min(8, machineCores),
  memory_gb: Math.min(16, Math.max(0.5, Math.floor(machineGb * 0.75 * 2) / 2)),
  warm_resources: 16,
  concurrent_executions: 4,
  concurrent_requests: 8,
  max_body_bytes: 1024 * 1024,
  requests_per_second: 200,
  request_burst: 200,
  memory_bytes: 64 * 1024 * 1024,
  disk_bytes: 1024 * 1024 * 1024,
});

/** Tokens a request that makes the server compute (POST) takes from the rate bucket. */
export const COSTLY_REQUEST_TOKENS = 10;

/** Fills the gaps of a partial quota set with {@link DEFAULT_QUOTAS}. */
export function withDefaultQuotas(partial: Partial<Quotas> | undefined): Quotas {
  return { ...DEFAULT_QUOTAS, ...(partial ?? {}) };
}

/**
 * A quota was exceeded. Carries the HTTP status (429 for held resources, runs and
 * request rate; 413 for a body too large; 507 for the tenant's disk) and the quota's name, so the server
 * answers without a mapping table and scripts can match on `quota`.
 */
export class QuotaExceededError extends WarmflowError {
  override readonly name = 'QuotaExceededError';
  readonly status: 429 | 413 | 507;
  readonly quota: QuotaName;
  readonly limit: number;
  readonly requested: number;
  /** Seconds after which a retry may succeed (rate quotas only). */
  readonly retryAfter: number | undefined;

  constructor(
    quota: QuotaName,
    limit: number,
    requested: number,
    options: { retryAfter?: number } = {},
  ) {
    super(
      'E_QUOTA',
      `quota "${quota}" exceeded: limit ${limit}, this request would need ${requested}`,
      {
        hint:
          quota === 'disk_bytes'
            ? 'delete flows (and their code) you no longer need or empty your stores\' files; older run folders are deleted to make room, or ask an admin to raise the tenant\'s "disk_bytes" quota'
            : `ask an admin to raise the tenant's "${quota}" quota, or wait for held resources to be released`,
      },
    );
    this.quota = quota;
    this.limit = limit;
    this.requested = requested;
    this.status = quota === 'max_body_bytes' ? 413 : quota === 'disk_bytes' ? 507 : 429;
    this.retryAfter = options.retryAfter;
  }

  override toJSON(): {
    code: ErrorCode;
    message: string;
    hint?: string;
    quota: QuotaName;
    limit: number;
  } {
    return { ...super.toJSON(), quota: this.quota, limit: this.limit };
  }
}

/** Throws 413 `max_body_bytes` when a body of `bytes` is larger than allowed. */
export function enforceBodySize(quotas: Quotas, bytes: number): void {
  if (bytes > quotas.max_body_bytes)
    throw new QuotaExceededError('max_body_bytes', quotas.max_body_bytes, bytes);
}

/** Resources a tenant holds, or asks to add. */
export interface ResourceAmount {
  cores: number;
  memory_gb: number;
  warm_resources: number;
}

/**
 * Throws 429 naming the first resource quota that `held + requested` would exceed.
 * Called before provisioning, so a tenant is refused instead of squeezing others.
 */
export function enforceResources(
  quotas: Quotas,
  held: ResourceAmount,
  requested: ResourceAmount,
): void {
  for (const quota of ['cores', 'memory_gb', 'warm_resources'] as const) {
    const total = held[quota] + requested[quota];
    // A tiny epsilon keeps fractional memory sums (0.1 + 0.2) from refusing an exact fit.
    if (total > quotas[quota] + 1e-9) throw new QuotaExceededError(quota, quotas[quota], total);
  }
}

/** Throws 429 `concurrent_executions` when one more run would exceed the quota. */
export function enforceConcurrency(quotas: Quotas, running: number): void {
  if (running + 1 > quotas.concurrent_executions) {
    throw new QuotaExceededError(
      'concurrent_executions',
      quotas.concurrent_executions,
      running + 1,
    );
  }
}
