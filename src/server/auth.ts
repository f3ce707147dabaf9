import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Principal, Tenant, TenancyStore } from '../tenancy/tenancy-store.js';
import {
  COSTLY_REQUEST_TOKENS,
  DEFAULT_QUOTAS,
  QuotaExceededError,
  enforceBodySize,
} from '../tenancy/quotas.js';
import { InFlightSlots, type RateLimiter } from '../tenancy/rate-limiter.js';
import { HttpError, sendError } from './http-error.js';

/** What the app keeps per request. */
export interface AppEnv {
  Variables: { principal: Principal };
}

/** The subset of the tenancy store the server uses. */
export type TenancyPort = Pick<
  TenancyStore,
  | 'authenticate'
  | 'createTenant'
  | 'createKey'
  | 'revokeKey'
  | 'getTenant'
  | 'listTenants'
  | 'listKeys'
>;

/**
 * Bearer authentication, then the tenant's rate bucket and body-size quota, in
 * that order so that a flooding or oversized request is refused before any body
 * is read or parsed. Unauthenticated requests get one 401 body whatever the reason,
 * so a caller cannot tell a revoked key from one that never existed.
 */
export function authenticate(
  tenancy: TenancyPort,
  limiter: RateLimiter,
  shedDelayMs = 0,
  requests: InFlightSlots = new InFlightSlots('concurrent_requests'),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = match === null ? undefined : tenancy.authenticate(match[1]);
    if (principal === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="warmflow"');
      const message =
        header === undefined
          ? 'missing API key: send "Authorization: Bearer <key>"'
          : 'invalid or revoked API key';
      return sendError(c, new HttpError(401, 'E_UNAUTHORIZED', message));
    }
    c.set('principal', principal);
    const quotas = principal.kind === 'tenant' ? principal.tenant.quotas : DEFAULT_QUOTAS;
    let release = () => {};
    const length = c.req.header('content-length');
    const declared = length !== undefined && /^\d+$/.test(length) ? length : undefined;
    try {
      if (principal.kind === 'tenant') {
        limiter.take(
          principal.tenant.id,
          quotas,
          c.req.method === 'POST' ? COSTLY_REQUEST_TOKENS : 1,
        );
        release = requests.acquire(principal.tenant.id, quotas);
      }
      if (declared !== undefined) enforceBodySize(quotas, Number(declared));
    } catch (error) {
      // Answering a shed request at once invites the next one at once: a flooding client on
      // keep-alive connections would keep the event loop busy with 429s alone. Holding each
      // 429 (never longer than the Retry-After) caps a flooder at one request per connection
      // per delay, which is what keeps the other tenants' latency flat.
      release();
      if (
        shedDelayMs > 0 &&
        error instanceof QuotaExceededError &&
        (error.quota === 'requests_per_second' || error.quota === 'concurrent_requests')
      ) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(shedDelayMs, (error.retryAfter ?? 1) * 1000)),
        );
      }
      return sendError(c, error);
    }
    // A declared length was checked above, and a GET or HEAD has no body: neither touches the
    // body here (asking for it builds a web Request around the socket, and reading through
    // that costs several times reading the socket directly). Bodies without a length
    // (chunked) are counted while they are read.
    const declaredOnly =
      c.req.method === 'GET' ||
      c.req.method === 'HEAD' ||
      (declared !== undefined && c.req.header('transfer-encoding') === undefined);
    try {
      if (declaredOnly) return await next();
      return await bodyLimit({
        maxSize: quotas.max_body_bytes,
        onError: (ctx) =>
          sendError(
            ctx,
            new QuotaExceededError(
              'max_body_bytes',
              quotas.max_body_bytes,
              quotas.max_body_bytes + 1,
            ),
          ),
      })(c, next);
    } finally {
      release();
    }
  };
}

/** The tenant of a request, or a 403 for the admin key (which owns no flows, pools or runs). */
export function requireTenant(principal: Principal): Tenant {
  if (principal.kind === 'tenant') return principal.tenant;
  throw new HttpError(
    403,
    'E_FORBIDDEN',
    'the admin key manages tenants only; use a tenant key for this route',
    {
      hint: 'create one with `POST /v1/tenants/{id}/keys` or `warmflow tenant key <tenant>`',
    },
  );
}

/** Throws 403 unless the request carries the admin key. */
export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') {
    throw new HttpError(403, 'E_FORBIDDEN', 'this route needs the admin key', {
      hint: 'the admin key is WARMFLOW_ADMIN_KEY or the admin.key file under WARMFLOW_HOME',
    });
  }
}
