import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { parseRprs } from '../../predictor/rpr-validation.js';
import { enforceResources, type ResourceAmount } from '../../tenancy/quotas.js';
import { addAmounts } from '../../tenancy/resource-ledger.js';
import { chargeOf } from '../resource-charge.js';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import type { AppState } from '../app-state.js';
import { notFound } from '../http-error.js';
import type { PoolView } from '../ports.js';
import { IdParam, PageQuery, PoolCreate } from '../schemas.js';
import { errors, jsonBody, ok, page } from './route-helpers.js';
import { Drained, PoolPage, PoolSchema, PoolTimelineSchema } from '../response-schemas.js';
import { profileFor, tenantFlow } from './lookups.js';

/** What a tenant's pools hold together. */
export function heldBy(pools: readonly PoolView[]): ResourceAmount {
  return pools.reduce<ResourceAmount>(
    (sum, pool) => ({
      cores: sum.cores + pool.held.cores,
      memory_gb: sum.memory_gb + pool.held.memory_gb,
      warm_resources: sum.warm_resources + pool.held.warm_resources,
    }),
    { cores: 0, memory_gb: 0, warm_resources: 0 },
  );
}

/** Warm pools: pre-provision (quota-checked), list, read, drain, and their timeline. */
export function registerPoolRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const tags = ['pools'];
  const { pools } = state.deps;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/pools',
      tags,
      summary: 'Pre-provision a warm pool for a flow (from given RPRs or a prediction)',
      request: { body: jsonBody(PoolCreate) },
      responses: {
        201: ok('the pool with its RACs', PoolSchema),
        ...errors(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const body = c.req.valid('json');
      const flow = tenantFlow(state, tenant.id, body.flow_id);
      const rprs =
        (body.rprs && parseRprs(body.rprs, 'rprs', flow.template)) ??
        (await state.deps.predictor.predict({
          tenant: tenant.id,
          flow,
          dcp: profileFor(state, tenant.id, flow, body.profile_id)?.dcp ?? null,
        }));
      // Refused before anything starts: a tenant over quota never takes capacity from another.
      // Checked and provisioned as one admission, so concurrent requests cannot both fit.
      const pool = await state.ledger.exclusive(tenant.id, async () => {
        // A template has one pool: asking again replaces what it holds, so its own
        // resources are not counted twice.
        const others = (await pools.list(tenant.id)).filter(
          (p) => p.template !== flow.template.name,
        );
        enforceResources(
          tenant.quotas,
          addAmounts(heldBy(others), state.ledger.reserved(tenant.id)),
          chargeOf(flow.template, rprs),
        );
        return pools.preProvision({ tenant: tenant.id, flow, rprs });
      });
      state.timeline.sample(tenant.id, await pools.list(tenant.id));
      return c.json(pool, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/pools',
      tags,
      summary: "The tenant's warm pools, a page at a time",
      request: { query: PageQuery },
      responses: {
        200: ok('pools and next (the cursor of the next page, or null)', PoolPage),
        ...errors(400, 401, 403, 429),
      },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { items, next } = page(await pools.list(tenant.id), (p) => p.id, c.req.valid('query'));
      return c.json({ pools: items, next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/pools/timeline',
      tags,
      summary: "The tenant's pool sizes over time (ready, claimed, cold fallbacks)",
      responses: { 200: ok('samples, oldest first', PoolTimelineSchema), ...errors(401, 403, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      state.timeline.sample(tenant.id, await pools.list(tenant.id));
      return c.json({ samples: state.timeline.samples(tenant.id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/pools/{id}',
      tags,
      summary: 'One pool',
      request: { params: IdParam },
      responses: { 200: ok('the pool', PoolSchema), ...errors(401, 403, 404, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { id } = c.req.valid('param');
      const pool = (await pools.list(tenant.id)).find((p) => p.id === id);
      if (pool === undefined) throw notFound('pool', id);
      return c.json(pool, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/pools/{id}',
      tags,
      summary: 'Drain a pool: release every resource it holds',
      request: { params: IdParam },
      responses: { 200: ok('drained', Drained), ...errors(401, 403, 404, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { id } = c.req.valid('param');
      if (!(await pools.drain(tenant.id, id))) throw notFound('pool', id);
      state.timeline.sample(tenant.id, await pools.list(tenant.id));
      return c.json({ id, drained: true as const }, 200);
    },
  );
}
