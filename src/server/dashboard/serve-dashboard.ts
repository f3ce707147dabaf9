import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../auth.js';
import { HttpError } from '../http-error.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './page.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The browser bundles the page loads, straight from node_modules (no bundler). */
function vendorFiles(): Record<string, { file: string; type: string }> {
  const uplot = path.dirname(require.resolve('uplot'));
  const dagre = path.dirname(require.resolve('@dagrejs/dagre'));
  return {
    'uPlot.esm.js': { file: path.join(uplot, 'uPlot.esm.js'), type: 'text/javascript' },
    'uPlot.min.css': { file: path.join(uplot, 'uPlot.min.css'), type: 'text/css' },
    'dagre.esm.js': { file: path.join(dagre, 'dagre.esm.js'), type: 'text/javascript' },
  };
}

const scripts = new Map<string, Promise<string>>();

/**
 * The page's own script `name`: the JavaScript tsc compiled next to this module
 * (`npm run build`); when running from the TypeScript sources (tsx, tests) there
 * is none, so the source is transpiled with the TypeScript compiler itself, once.
 */
function dashboardScript(name: string): Promise<string> {
  let script = scripts.get(name);
  if (script === undefined) {
    script = (async () => {
      const compiled = path.join(here, 'app', `${name}.js`);
      if (existsSync(compiled)) return readFile(compiled, 'utf8');
      const source = path.join(here, 'app', `${name}.ts`);
      const ts = (await import('typescript')).default;
      const output = ts.transpileModule(await readFile(source, 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.ES2022,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
        fileName: source,
      });
      return output.outputText;
    })();
    scripts.set(name, script);
    // A failed read must not be cached forever.
    script.catch(() => scripts.delete(name));
  }
  return script;
}

/**
 * Headers every answer carries: no MIME sniffing, no framing, no referrer (a URL may
 * hold an id), and a CSP that lets nothing load unless the route sets its own (the
 * dashboard page does).
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('x-frame-options', 'DENY');
    c.res.headers.set('referrer-policy', 'no-referrer');
    if (!c.res.headers.has('content-security-policy'))
      c.res.headers.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  };
}

/**
 * Serves the dashboard at `/dashboard/`: the page, its ES modules under
 * `/dashboard/app/`, and uPlot's and dagre's browser bundles under
 * `/dashboard/vendor/`. The page itself needs no key; every figure it shows comes
 * from the `/v1` API with the tenant key the user types in.
 */
export function registerDashboard(app: OpenAPIHono<AppEnv>): void {
  const vendor = vendorFiles();
  app.get('/', (c) => c.redirect('/dashboard/'));
  app.get('/dashboard', (c) => c.redirect('/dashboard/'));
  app.get('/dashboard/', (c) =>
    c.html(DASHBOARD_HTML, 200, { 'content-security-policy': DASHBOARD_CSP }),
  );
  app.get('/dashboard/app/:file{[a-z-]+\\.js}', async (c) => {
    const name = c.req.param('file').replace(/\.js$/, '');
    if (
      !existsSync(path.join(here, 'app', `${name}.ts`)) &&
      !existsSync(path.join(here, 'app', `${name}.js`))
    ) {
      throw new HttpError(404, 'E_NO_ROUTE', `no dashboard script ${name}.js`);
    }
    return c.body(await dashboardScript(name), 200, {
      'content-type': 'text/javascript; charset=utf-8',
    });
  });
  app.get('/dashboard/vendor/:file', async (c) => {
    const entry = vendor[c.req.param('file')];
    if (entry === undefined)
      throw new HttpError(404, 'E_NO_ROUTE', `no vendor file ${c.req.param('file')}`);
    return c.body(await readFile(entry.file, 'utf8'), 200, {
      'content-type': `${entry.type}; charset=utf-8`,
      'cache-control': 'public, max-age=3600',
    });
  });
}
