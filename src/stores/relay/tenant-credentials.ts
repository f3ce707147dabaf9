import { createHmac, randomBytes } from 'node:crypto';

/** How a relay logs in to a store instance for one tenant. */
export interface TenantCredentials {
  /** The tenant's user (Redis) or role (Postgres): `wf_<tenant>`. */
  user: string;
  password: string;
}

/** A secret of this process, for instances whose URL has no password to derive from. */
const PROCESS_SECRET = randomBytes(32);

/**
 * The tenant's login on an instance. Its password is derived from the instance's admin password
 * when the catalogue URL has one — so every server sharing the catalogue derives the same one and
 * none locks the others out — else from a random secret of this process. It never leaves the
 * server: relays send it to the instance, tenants never see it.
 */
export function tenantCredentials(
  instanceUrl: string,
  instance: string,
  namespace: string,
): TenantCredentials {
  const adminPassword = decodeURIComponent(new URL(instanceUrl).password);
  const secret = adminPassword === '' ? PROCESS_SECRET : Buffer.from(adminPassword, 'utf8');
  const password = createHmac('sha256', secret)
    .update(`warmflow-tenant\0${instance}\0${namespace}`)
    .digest('base64url');
  return { user: `wf_${namespace}`, password };
}
