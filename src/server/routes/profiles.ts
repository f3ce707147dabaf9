import { randomBytes } from 'node:crypto';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import { jsonText, type AppState, type ProfileRecord } from '../app-state.js';
import type { Tenant } from '../../tenancy/tenancy-store.js';
import {
  MAX_BODY_DEPTH,
  RAW_BODY_BYTES,
  largeOrUnknownBody,
  readBodyPieces,
  tooDeepBody,
} from '../json-body-bounds.js';
import type { FlowRecord, ProfileInput, ProfilerPort } from '../ports.js';
import { invalidRequestBody } from '../zod-problems.js';
import { IdParam, PageQuery, ProfileCreate } from '../schemas.js';
import { resolveServerPath } from '../server-paths.js';
import { errors, jsonBody, ok, page } from './route-helpers.js';
import { ProfilePage, ProfileSchema } from '../response-schemas.js';
import { flowBase } from './flows.js';
import { tenantFlow, tenantProfile } from './lookups.js';

/** The media types the route's JSON validator parses (hono's own test). */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/** The size from which a profile body goes to the profiler raw. */
export const RAW_PROFILE_BODY_BYTES = RAW_BODY_BYTES;

/** Whether this request's body goes to the profiler raw (see {@link RAW_BODY_BYTES}). */
export function takesRawProfileBody(c: Context<AppEnv>, profiler: ProfilerPort): boolean {
  if (profiler.profileBody === undefined || c.req.method !== 'POST') return false;
  if (c.req.path !== '/v1/profiles') return false;
  const media = (c.req.header('content-type') ?? '').split(';')[0].trim();
  return JSON_MEDIA.test(media) && largeOrUnknownBody(c);
}

/**
 * Keeps a profile (the tenant's memory quota charged) and makes it the flow's default;
 * resolves once both are stored.
 */
async function keepProfile(
  state: AppState,
  tenant: Tenant,
  flow: FlowRecord | undefined,
  dcp: ProfileRecord['dcp'],
): Promise<ProfileRecord> {
  const profile: ProfileRecord = {
    id: `p_${randomBytes(6).toString('hex')}`,
    tenant: tenant.id,
    flow_id: flow?.id ?? null,
    created_at: new Date().toISOString(),
    dcp,
  };
  const stored = jsonText(profile);
  state.chargeMemory(tenant, stored.length);
  const written = [state.profiles.set(tenant.id, profile.id, profile, stored)];
  if (flow !== undefined) {
    flow.profile_id = profile.id;
    written.push(state.flows.set(tenant.id, flow.id, flow));
  }
  await Promise.all(written);
  return profile;
}

/** The input a body naming `source` stands for: the path resolved in the tenant's area. */
function sourceInput(
  state: AppState,
  tenant: Tenant,
  flow: FlowRecord | undefined,
  source: string,
): ProfileInput {
  return {
    source: resolveServerPath(
      state.areas,
      tenant.id,
      source,
      flow === undefined ? undefined : flowBase(flow),
    ),
  };
}

/** Profiles: post records (or name a source on the server) and get a DCP back. */
export function registerProfileRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const tags = ['profiles'];
  const profiler = state.deps.profiler;

  // A large JSON body skips the validator below: its raw bytes go to the background process,
  // which answers with the DCP or with what the validator would have refused.
  app.use('/v1/profiles', async (c, next) => {
    if (!takesRawProfileBody(c, profiler)) return next();
    const tenant = requireTenant(c.get('principal'));
    const result = await profiler.profileBody!(await readBodyPieces(c), {
      tenant: tenant.id,
      maxDepth: MAX_BODY_DEPTH,
      signal: c.req.raw.signal,
    });
    if ('refused' in result) {
      if (result.refused === 'invalid') return c.json(invalidRequestBody(result.problems), 400);
      if (result.refused === 'too_deep') throw tooDeepBody(MAX_BODY_DEPTH);
      throw new HTTPException(400, { message: 'Malformed JSON in request body' });
    }
    const flow =
      result.flow_id === undefined ? undefined : tenantFlow(state, tenant.id, result.flow_id);
    const dcp =
      'dcp' in result
        ? result.dcp
        : await profiler.profile(sourceInput(state, tenant, flow, result.source), {
            tenant: tenant.id,
            flow,
            signal: c.req.raw.signal,
          });
    return c.json(await keepProfile(state, tenant, flow, dcp), 201);
  });

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
          : sourceInput(state, tenant, flow, body.source!);
      const dcp = await profiler.profile(input, {
        tenant: tenant.id,
        flow,
        signal: c.req.raw.signal,
      });
      return c.json(await keepProfile(state, tenant, flow, dcp), 201);
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
