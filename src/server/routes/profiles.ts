import { randomBytes } from 'node:crypto';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import { jsonSize, type AppState, type ProfileRecord } from '../app-state.js';
import type { ProfileInput } from '../ports.js';
import { IdParam, PageQuery, ProfileCreate } from '../schemas.js';
import { resolveServerPath } from '../server-paths.js';
import { errors, jsonBody, ok, page } from './route-helpers.js';
import { ProfilePage, ProfileSchema } from '../response-schemas.js';
import { flowBase } from './flows.js';
import { tenantFlow, tenantProfile } from './lookups.js';

/** Profiles: post records (or name a source on the server) and get a DCP back. */
export function registerProfileRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const tags = ['profiles'];

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/profiles',
      tags,
      summary: 'Profile records (in the body) or a source (a path on the server) into a DCP',
      description:
        'With `flow_id`, the profile becomes that flow’s default for predictions and runs.',
      request: { body: jsonBody(ProfileCreate) },
      responses: {
        201: ok('the profile with its DCP', ProfileSchema),
        ...errors(400, 401, 403, 404, 413, 429),
      },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const body = c.req.valid('json');
      const flow =
        body.flow_id === undefined ? undefined : tenantFlow(state, tenant.id, body.flow_id);
      const input: ProfileInput =
        body.records !== undefined
          ? { records: body.records }
          : {
              source: resolveServerPath(
                state.areas,
                tenant.id,
                body.source!,
                flow === undefined ? undefined : flowBase(flow),
              ),
            };
      const dcp = await state.deps.profiler.profile(input, {
        tenant: tenant.id,
        flow,
        signal: c.req.raw.signal,
      });
      const profile: ProfileRecord = {
        id: `p_${randomBytes(6).toString('hex')}`,
        tenant: tenant.id,
        flow_id: flow?.id ?? null,
        created_at: new Date().toISOString(),
        dcp,
      };
      state.chargeMemory(tenant, jsonSize(profile));
      state.profiles.set(tenant.id, profile.id, profile);
      if (flow !== undefined) {
        flow.profile_id = profile.id;
        state.flows.set(tenant.id, flow.id, flow);
      }
      return c.json(profile, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles',
      tags,
      summary: "The tenant's profiles, newest first, a page at a time (without their DCPs)",
      request: { query: PageQuery },
      responses: {
        200: ok('profiles and next (the cursor of the next page, or null)', ProfilePage),
        ...errors(400, 401, 403, 429),
      },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { items, next } = page(
        state.profiles.list(tenant.id).reverse(),
        (p) => p.id,
        c.req.valid('query'),
      );
      return c.json(
        {
          profiles: items.map((p) => ({
            id: p.id,
            flow_id: p.flow_id,
            created_at: p.created_at,
            records: p.dcp.volume.records,
          })),
          next,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles/{id}',
      tags,
      summary: 'A profile',
      request: { params: IdParam },
      responses: { 200: ok('the profile', ProfileSchema), ...errors(401, 403, 404, 429) },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      return c.json(tenantProfile(state, tenant.id, c.req.valid('param').id), 200);
    },
  );
}
