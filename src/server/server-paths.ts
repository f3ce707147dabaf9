import type { TenantAreas } from '../tenancy/tenant-area.js';
import { HttpError } from './http-error.js';

/**
 * Resolves a path a tenant's request names on the server (a flow file, a data source) and
 * refuses anything outside the tenant's area and the server's shared roots (compared by path
 * segments, after symlinks), so one tenant cannot make the server read another tenant's data,
 * the home database or the admin key. The refusal is the same whether or not the path exists.
 */
export function resolveServerPath(
  areas: TenantAreas,
  tenant: string,
  requested: string,
  base?: string,
): string {
  const resolved = areas.resolve(tenant, requested, base);
  if (resolved === null) {
    throw new HttpError(
      403,
      'E_PATH_FORBIDDEN',
      `path "${requested}" is outside the folders this server lets you read`,
      {
        hint: 'upload files with the flow (a bundle), or name files in your area or a shared folder (--root) of the server',
      },
    );
  }
  return resolved;
}
