import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../auth.js';

/** Serves the dashboard page and its scripts (filled in with the dashboard). */
export function registerDashboard(app: OpenAPIHono<AppEnv>): void {
  app.get('/', (c) => c.redirect('/dashboard/'));
}
