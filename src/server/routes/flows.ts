import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import { jsonText, type AppState } from '../app-state.js';
import { HttpError } from '../http-error.js';
import type { Context } from 'hono';
import {
  MAX_BODY_DEPTH,
  largeOrUnknownBody,
  readBodyPieces,
  tooDeepBody,
} from '../json-body-bounds.js';
import type { FlowRecord, TemplatePort } from '../ports.js';
import type { FlowSpec, Template } from '../../template/types.js';
import { IdParam, PageQuery, PredictInput } from '../schemas.js';
import { resolveServerPath } from '../server-paths.js';
import { resolveFlowPaths } from '../parts/loaded-flow.js';
import { storeBundle } from '../../tenancy/code-bundle.js';
import type { Quotas } from '../../tenancy/quotas.js';
import { errors, inPieces, jsonBody, ok, page } from './route-helpers.js';
import { Deleted, FlowCreated, FlowDetail, FlowPage, Prediction } from '../response-schemas.js';
import { profileFor, tenantFlow } from './lookups.js';

const FLOW_MEDIA_TYPES =
  /^(application\/(x-)?yaml|text\/(x-)?yaml|application\/json|application\/vnd\.warmflow\.bundle\+json)\s*(;.*)?$/i;
const BUNDLE_MEDIA_TYPE = /^application\/vnd\.warmflow\.bundle\+json\s*(;.*)?$/i;

/**
 * Whether this flow post's body goes to the compile job raw: a flow file (not a bundle, whose
 * code is unpacked here) of {@link largeOrUnknownBody} size, when the template part can take it.
 */
export function takesRawFlowBody(c: Context<AppEnv>, template: TemplatePort): boolean {
  if (template.compileBody === undefined || c.req.method !== 'POST') return false;
  if (c.req.path !== '/v1/flows') return false;
  const type = c.req.header('content-type') ?? '';
  return FLOW_MEDIA_TYPES.test(type) && !BUNDLE_MEDIA_TYPE.test(type) && largeOrUnknownBody(c);
}

/** The 400 of an empty flow post. */
function emptyFlowBody(): HttpError {
  return new HttpError(400, 'E_INVALID_REQUEST', 'the request body is empty; send a flow file');
}

/**
 * The flow text and the code folder of a bundle body (`{flow, files}`), stored in the tenant's
 * area when it fits the tenant's `disk_bytes` quota.
 */
async function unbundle(
  state: AppState,
  tenant: { id: string; quotas: Quotas },
  body: string,
): Promise<{ text: string; code: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'E_INVALID_REQUEST', 'the bundle is not JSON', {
      hint: 'send {"flow": "<the flow file as text>", "files": {"functions/x.js": "<code>"}}',
    });
  }
  const { flow, files } = (parsed ?? {}) as { flow?: unknown; files?: unknown };
  if (
    typeof flow !== 'string' ||
    files === null ||
    typeof files !== 'object' ||
    Array.isArray(files)
  )
    throw new HttpError(
      400,
      'E_INVALID_REQUEST',
      'a bundle is {"flow": string, "files": {name: content}}',
    );
  let bytes = 0;
  for (const content of Object.values(files))
    if (typeof content === 'string') bytes += Buffer.byteLength(content);
  const release = await state.disk.admit(tenant, bytes);
  try {
    return {
      text: flow,
      code: storeBundle(state.areas.area(tenant.id), files as Record<string, unknown>),
    };
  } finally {
    release();
  }
}

/** The view of a flow in lists: no spec, no template. */
function summary(flow: FlowRecord) {
  return {
    id: flow.id,
    name: flow.name,
    created_at: flow.created_at,
    nodes: flow.template.nodes.length,
    profile_id: flow.profile_id,
  };
}

/** The JSON of each flow's spec and template, made once (a flow's are fixed when registered). */
const specAndTemplate = new WeakMap<FlowRecord['spec'], Buffer>();

/**
 * A flow as `GET /v1/flows/{id}` answers it, in two parts: its summary (whose `profile_id`
 * changes) and its spec and template serialised once, so reading a large flow (a megabyte of
 * JSON takes milliseconds to serialise) costs the event loop neither a serialisation nor a
 * copy.
 */
function detailJson(flow: FlowRecord): Buffer[] {
  let tail = specAndTemplate.get(flow.spec);
  if (tail === undefined) {
    tail = Buffer.from(
      `,"spec":${JSON.stringify(flow.spec)},"template":${JSON.stringify(flow.template)}}`,
    );
    specAndTemplate.set(flow.spec, tail);
  }
  const head = JSON.stringify({ ...summary(flow), file: flow.file });
  return [Buffer.from(head.slice(0, -1)), tail];
}

/** Flows: register (YAML or JSON), list, read, predict. */
export function registerFlowRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const tags = ['flows'];
  const flowFileSchema = {
    type: 'string' as const,
    description: 'the flow file (see docs/template.md)',
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows',
      tags,
      summary: 'Register a flow file; answers with the inferred template',
      description:
        'Body: the flow file as YAML (`application/yaml`) or the same document as JSON. ' +
        'An invalid flow is a 400 listing every problem with its position.',
      request: {
        query: z.strictObject({
          file: z.string().min(1).optional().openapi({
            description:
              'where the flow file lives on the server; relative `module` and `source` paths resolve against it',
          }),
        }),
        body: {
          required: true,
          content: {
            'application/yaml': { schema: flowFileSchema },
            'application/json': { schema: { type: 'object' as const } },
            'application/vnd.warmflow.bundle+json': {
              schema: {
                type: 'object' as const,
                description:
                  'a code bundle: {"flow": the flow file as text, "files": {relative name: content}}; stored content-addressed in the tenant\'s area, and relative paths of the flow resolve inside it',
              },
            },
          },
        },
      },
      responses: {
        201: ok('the registered flow with its template', FlowCreated),
        ...errors(400, 401, 403, 413, 415, 429, 507),
      },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const contentType = c.req.header('content-type') ?? '';
      if (!FLOW_MEDIA_TYPES.test(contentType)) {
        throw new HttpError(
          415,
          'E_MEDIA_TYPE',
          `content type "${contentType}" is not a flow file`,
          {
            hint: 'send the flow as application/yaml or application/json',
          },
        );
      }
      const { file } = c.req.valid('query');
      const flowFile =
        file === undefined ? undefined : resolveServerPath(state.areas, tenant.id, file);
      let code: string | undefined;
      let compiled: { spec: FlowSpec; template: Template };
      if (takesRawFlowBody(c, state.deps.template)) {
        // Decoded, bounded (a JSON flow's depth, like every JSON body's) and compiled in the
        // background process: the event loop only reads the bytes.
        const result = await state.deps.template.compileBody!(await readBodyPieces(c), flowFile, {
          tenant: tenant.id,
          signal: c.req.raw.signal,
          ...(/json/i.test(contentType) ? { maxDepth: MAX_BODY_DEPTH } : {}),
        });
        if ('refused' in result)
          throw result.refused === 'empty' ? emptyFlowBody() : tooDeepBody(MAX_BODY_DEPTH);
        compiled = result;
      } else {
        let text = await c.req.text();
        if (BUNDLE_MEDIA_TYPE.test(contentType))
          ({ text, code } = await unbundle(state, tenant, text));
        if (text.trim() === '') throw emptyFlowBody();
        compiled = await state.deps.template.compile(text, flowFile, tenant.id, c.req.raw.signal);
      }
      const { spec, template } = compiled;
      // Every path the flow names must lie in the tenant's area (or a shared root): refused
      // now, with every problem listed, rather than at the first run.
      const dir =
        code ??
        (flowFile !== undefined ? path.dirname(flowFile) : state.areas.area(tenant.id).root);
      resolveFlowPaths(spec, tenant.id, state.areas, dir, state.catalogue);
      const flow: FlowRecord = {
        id: `f_${randomBytes(6).toString('hex')}`,
        tenant: tenant.id,
        name: spec.name,
        created_at: new Date().toISOString(),
        spec,
        template,
        file: flowFile ?? null,
        code: code ?? null,
        profile_id: null,
      };
      const stored = jsonText(flow);
      state.chargeMemory(tenant, stored.length);
      await state.flows.set(tenant.id, flow.id, flow, stored);
      return c.json({ ...summary(flow), file: flow.file, template }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows',
      tags,
      summary: "List the tenant's flows, oldest first, a page at a time",
      request: { query: PageQuery },
      responses: {
        200: ok('flows and next (the cursor of the next page, or null)', FlowPage),
        ...errors(400, 401, 403, 429),
      },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { items, next } = page(state.flows.list(tenant.id), (f) => f.id, c.req.valid('query'));
      return c.json({ flows: items.map(summary), next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}',
      tags,
      summary: 'A flow with its spec and template',
      request: { params: IdParam },
      responses: { 200: ok('the flow', FlowDetail), ...errors(401, 403, 404, 429) },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const flow = tenantFlow(state, tenant.id, c.req.valid('param').id);
      // The FlowDetail JSON, from parts serialised once (the route's type expects c.json's).
      const parts = detailJson(flow);
      return c.body(inPieces(parts), 200, {
        'content-type': 'application/json',
        'content-length': String(parts.reduce((sum, part) => sum + part.length, 0)),
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/flows/{id}',
      tags,
      summary: 'Forget a flow (its runs stay in history) and free its code bundle',
      request: { params: IdParam },
      responses: { 200: ok('deleted', Deleted), ...errors(401, 403, 404, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const flow = tenantFlow(state, tenant.id, c.req.valid('param').id);
      await state.flows.delete(tenant.id, flow.id);
      await freeBundle(state, tenant.id, flow);
      return c.json({ id: flow.id, deleted: true as const }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows/{id}/predict',
      tags,
      summary: 'Predict one RPR per node, from a profile (the flow’s latest by default)',
      request: { params: IdParam, body: { ...jsonBody(PredictInput), required: false } },
      responses: { 200: ok('the RPRs', Prediction), ...errors(400, 401, 403, 404, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const flow = tenantFlow(state, tenant.id, c.req.valid('param').id);
      const { profile_id } = c.req.valid('json');
      const profile = profileFor(state, tenant.id, flow, profile_id);
      const rprs = await state.deps.predictor.predict({
        tenant: tenant.id,
        flow,
        dcp: profile?.dcp ?? null,
      });
      return c.json({ flow_id: flow.id, profile_id: profile?.id ?? null, rprs }, 200);
    },
  );
}

/**
 * Deletes the code bundle of a forgotten flow, so it stops counting against `disk_bytes`,
 * unless something still uses it: another flow of the tenant with the same code, a run of
 * the flow in flight, or a warm pool of the flow (its workers loaded the code).
 */
async function freeBundle(state: AppState, tenant: string, flow: FlowRecord): Promise<void> {
  const code = flow.code;
  if (code === null || code === undefined) return;
  if (state.flows.list(tenant).some((f) => f.code === code)) return;
  if (state.executions.list(tenant).some((e) => e.flow_id === flow.id && e.status === 'running'))
    return;
  const pools = await state.deps.pools.list(tenant);
  if (pools.some((p) => p.flow_id === flow.id && p.resources.length > 0)) return;
  if (!state.areas.writable(tenant, code)) return;
  await rm(code, { recursive: true, force: true });
}

/** The folder a flow's relative paths resolve against: its bundle, else its file's folder. */
export function flowBase(flow: FlowRecord): string | undefined {
  if (flow.code !== undefined && flow.code !== null) return flow.code;
  return flow.file === null ? undefined : path.dirname(flow.file);
}
