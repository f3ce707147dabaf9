import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import type { AppState } from '../app-state.js';
import { HistoryQuery } from '../schemas.js';
import { errors, ok, page } from './route-helpers.js';
import { HistoryPage } from '../response-schemas.js';

/** History: the tenant's past runs (never another tenant's: the filter is the key's tenant). */
export function registerHistoryRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/history',
      tags: ['history'],
      summary:
        "The tenant's past runs, newest first, and the runs a server stop interrupted (`interrupted`)",
      request: { query: HistoryQuery },
      responses: { 200: ok('runs', HistoryPage), ...errors(400, 401, 403, 429) },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { template, limit, after } = c.req.valid('query');
      const filter: { tenant: string; template?: string; limit: number } = {
        tenant: tenant.id,
        limit: limit ?? 50,
      };
      if (template !== undefined) filter.template = template;
      const runs = await state.deps.history.runs(filter);
      // Runs the server died under never completed, so they are not among the recorded runs;
      // they are listed beside them with what they had done.
      const interrupted = page(
        state.executions
          .list(tenant.id)
          .filter(
            (e) =>
              e.status === 'interrupted' && (template === undefined || e.template === template),
          )
          .reverse(),
        (e) => e.id,
        { limit: limit ?? 50, after },
      );
      // Belt and braces: a history backend that ignored the filter must still not leak.
      return c.json(
        {
          runs: runs.filter((run) => run.tenant === tenant.id),
          interrupted: interrupted.items,
          next_interrupted: interrupted.next,
        },
        200,
      );
    },
  );
}
