import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';
import { requireAdmin } from '../auth.js';
import type { AppState } from '../app-state.js';
import { notFound } from '../http-error.js';
import { IdParam, KeyParam, TenantCreate } from '../schemas.js';
import { jsonBody, ok, errors } from './route-helpers.js';
import { KeyCreated, KeyList, KeyRevoked, TenantCreated, TenantList } from '../response-schemas.js';

/** Admin routes: tenants and their keys. A tenant key gets 403 on all of them. */
export function registerTenantRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const { tenancy } = state.deps;
  const tags = ['tenants'];

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tenants',
      tags,
      summary: 'Create a tenant and its first API key (admin)',
      request: { body: jsonBody(TenantCreate) },
      responses: {
        201: ok('the tenant; `api_key` is shown only here', TenantCreated),
        ...errors(400, 401, 403, 409),
      },
    }),
    (c) => {
      requireAdmin(c.get('principal'));
      const body = c.req.valid('json');
      const { tenant, api_key, key_id } = tenancy.createTenant(body.name, body.quotas);
      return c.json({ ...tenant, api_key, key_id }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tenants',
      tags,
      summary: 'List tenants (admin)',
      responses: { 200: ok('tenants', TenantList), ...errors(401, 403) },
    }),
    (c) => {
      requireAdmin(c.get('principal'));
      return c.json({ tenants: tenancy.listTenants() }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tenants/{id}/keys',
      tags,
      summary: 'Create another API key for a tenant (admin)',
      request: { params: IdParam },
      responses: {
        201: ok('the new key; `api_key` is shown only here', KeyCreated),
        ...errors(401, 403, 404),
      },
    }),
    (c) => {
      requireAdmin(c.get('principal'));
      const { id } = c.req.valid('param');
      const tenant = tenancy.getTenant(id);
      if (tenant === undefined) throw notFound('tenant', id);
      return c.json({ tenant_id: tenant.id, ...tenancy.createKey(tenant.id) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tenants/{id}/keys',
      tags,
      summary: "List a tenant's keys, without secrets (admin)",
      request: { params: IdParam },
      responses: { 200: ok('keys', KeyList), ...errors(401, 403, 404) },
    }),
    (c) => {
      requireAdmin(c.get('principal'));
      const { id } = c.req.valid('param');
      const tenant = tenancy.getTenant(id);
      if (tenant === undefined) throw notFound('tenant', id);
      return c.json({ keys: tenancy.listKeys(tenant.id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tenants/{id}/keys/{keyId}',
      tags,
      summary: 'Revoke a key (admin); it stops working on the next request',
      request: { params: KeyParam },
      responses: { 200: ok('revoked', KeyRevoked), ...errors(401, 403, 404) },
    }),
    (c) => {
      requireAdmin(c.get('principal'));
      const { id, keyId } = c.req.valid('param');
      // The tenant may be named by id or by name, as everywhere else.
      const tenant = tenancy.getTenant(id);
      if (tenant === undefined || !tenancy.revokeKey(tenant.id, keyId))
        throw notFound('key', keyId);
      return c.json({ tenant_id: tenant.id, key_id: keyId, revoked: true as const }, 200);
    },
  );
}
