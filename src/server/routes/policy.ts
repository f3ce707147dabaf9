import { readFile } from 'node:fs/promises';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import type { AppState } from '../app-state.js';
import { errors, ok } from './route-helpers.js';
import { PolicyDecisions } from '../response-schemas.js';

// src/server/routes or dist/src/server/routes → the repository's docs/.
const PLOT = [
  new URL('../../../docs/policy-tradeoff.svg', import.meta.url),
  new URL('../../../../docs/policy-tradeoff.svg', import.meta.url),
];

/** The keep-alive policy: its decisions with their reasons, and the trade-off plot. */
export function registerPolicyRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/policy',
      tags: ['pools'],
      summary:
        "The keep-alive policy serve runs, the tenant's cold starts under it, and its latest decisions with reasons",
      responses: {
        200: ok('the policy and its decisions', PolicyDecisions),
        ...errors(401, 403, 429),
      },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const keeper = state.keeper;
      if (keeper === undefined) return c.json({ policy: null, decisions: [] }, 200);
      return c.json(
        {
          policy: keeper.spec,
          minute_ms: keeper.minuteMs,
          epoch_ms: keeper.epochMs,
          counts: keeper.counts(tenant.id),
          decisions: keeper.decisions(tenant.id),
        },
        200,
      );
    },
  );

  app.get('/policy/tradeoff.svg', async (c) => {
    for (const url of PLOT) {
      try {
        const svg = await readFile(url, 'utf8');
        return c.body(svg, 200, { 'content-type': 'image/svg+xml' });
      } catch {
        // try the next location
      }
    }
    return c.text('the plot is written by `npm run bench:policy`', 404);
  });
}
