import { OpenAPIHono } from '@hono/zod-openapi';
import { createAppState, type AppDeps, type AppOptions, type AppState } from './app-state.js';
import { authenticate, requireAdmin, type AppEnv } from './auth.js';
import { HttpError, sendError } from './http-error.js';
import { MAX_BODY_DEPTH, boundedJsonBodies } from './json-body-bounds.js';
import { invalidRequestBody, problemsOf, type ZodIssueLike } from './zod-problems.js';
import { registerDashboard, securityHeaders } from './dashboard/serve-dashboard.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerFlowRoutes, takesRawFlowBody } from './routes/flows.js';
import { registerHistoryRoutes } from './routes/history.js';
import { registerPoolRoutes } from './routes/pools.js';
import { registerPolicyRoutes } from './routes/policy.js';
import { createPolicyKeeper } from './policy-keeper-part.js';
import { registerProfileRoutes, takesRawProfileBody } from './routes/profiles.js';
import { registerTenantRoutes } from './routes/tenants.js';

/** An app and the state behind it (tests and `startServer` need both). */
export interface WarmflowApp {
  app: OpenAPIHono<AppEnv>;
  state: AppState;
}

/**
 * Builds the HTTP app over injected parts, so tests drive it in-process with
 * `app.request()` and `warmflow serve` wires the real implementations.
 *
 * ```ts
 * const { app } = createApp({ tenancy, template, profiler, predictor, pools, executor, history });
 * const res = await app.request('/v1/flows', { headers: { authorization: `Bearer ${key}` } });
 * ```
 */
export function createApp(deps: AppDeps, options: AppOptions = {}): WarmflowApp {
  const state = createAppState(deps, options);
  if (options.keepAlivePolicy !== undefined) {
    state.keeper = createPolicyKeeper(state, options.keepAlivePolicy);
  }
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = (result.error as { issues: ZodIssueLike[] }).issues;
      const problems = problemsOf(issues, result.target === 'json' ? 'body' : result.target);
      return c.json(invalidRequestBody(problems), 400);
    },
  });

  app.onError((error, c) => {
    const response = sendError(c, error);
    if (response.status >= 500) state.log(`${c.req.method} ${c.req.path} failed`, error);
    return response;
  });
  app.notFound((c) =>
    sendError(c, new HttpError(404, 'E_NO_ROUTE', `no route ${c.req.method} ${c.req.path}`)),
  );
  app.use('*', async (c, next) => {
    await next();
    state.metrics.request(c.res.status);
  });
  app.use('*', securityHeaders());

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.use('/metrics', authenticate(deps.tenancy, state.limiter));
  app.get('/metrics', async (c) => {
    // Labels name tenants, so only the admin key may scrape.
    requireAdmin(c.get('principal'));
    const tenants = deps.tenancy.listTenants();
    const pools = (await Promise.all(tenants.map((t) => deps.pools.list(t.id)))).flat();
    state.metrics.pools(pools);
    const live = new Map<string, Set<string>>();
    state.metrics.keepTemplates((tenant, template) => {
      let names = live.get(tenant);
      if (names === undefined) {
        names = new Set(state.flows.list(tenant).map((flow) => flow.template.name));
        live.set(tenant, names);
      }
      return names.has(template);
    });
    return c.text(await state.metrics.registry.metrics(), 200, {
      'content-type': state.metrics.registry.contentType,
    });
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'warmflow',
      version: '1',
      description:
        'Register flows, profile data, predict and pre-provision warm pools, run flows, read history.',
    },
    security: [{ bearer: [] }],
  });

  app.use(
    '/v1/*',
    authenticate(deps.tenancy, state.limiter, options.shedDelayMs ?? 500, state.requestSlots),
  );
  // Large profile and flow bodies are bounded where they are parsed, in the background process.
  app.use(
    '/v1/*',
    boundedJsonBodies(
      MAX_BODY_DEPTH,
      (c) => takesRawProfileBody(c, deps.profiler) || takesRawFlowBody(c, deps.template),
    ),
  );
  registerTenantRoutes(app, state);
  registerFlowRoutes(app, state);
  registerProfileRoutes(app, state);
  registerPoolRoutes(app, state);
  registerExecutionRoutes(app, state);
  registerHistoryRoutes(app, state);
  registerPolicyRoutes(app, state);
  registerDashboard(app);
  return { app, state };
}
