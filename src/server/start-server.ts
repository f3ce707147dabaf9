import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { drainLiveExecutions, resumeInterruptedExecutions } from './routes/executions.js';
import { resolveAdminKey, type AdminKey } from '../tenancy/admin-key.js';
import { TenancyStore } from '../tenancy/tenancy-store.js';
import { resolveMechanism, type SandboxMechanism } from '../tenancy/sandbox.js';
import { defaultAreas, type AppDeps, type AppOptions } from './app-state.js';
import { createApp, type WarmflowApp } from './create-app.js';
import { defaultDeps, type DefaultDepsOptions } from './wiring.js';
import { homeDatabasePath } from '../home.js';
import { RecordStore } from './record-store.js';

/** Options of {@link createServer} / {@link startServer}. */
export interface ServerOptions extends AppOptions {
  /** Port to listen on; 0 picks a free one. Default 7070. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback): exposing it is an explicit choice. */
  host?: string;
  /** Parts to use instead of the defaults (fakes in tests). */
  deps?: Partial<AppDeps>;
  /** The pool owner's service and provider (what `warmflow serve` holds); default the server's own. */
  pools?: DefaultDepsOptions['pools'];
  /** History location (as `openHistory`); default the home SQLite database. */
  history?: string;
  /** The admin key; default `resolveAdminKey()` (WARMFLOW_ADMIN_KEY or the admin.key file). */
  adminKey?: string;
  /** SQLite file for tenants; default the home database. */
  databasePath?: string;
  /** Per-run folders kept per tenant (`serve --keep-runs`); default 100. */
  keepRuns?: number;
  /** How often live pool sizes are sampled for the dashboard while runs go. Default 1000 ms. */
  sampleIntervalMs?: number;
  /**
   * How processes running tenant code (workers, calibration) are confined: `auto` (default) is
   * bubblewrap where it works, else none. The pools' provider of `pools` is confined by its owner.
   */
  sandbox?: SandboxMechanism | 'auto';
}

/** A built (not yet listening) server. */
export interface WarmflowServer extends WarmflowApp {
  adminKey: AdminKey;
  /** Waits for running executions, then stops sampling and closes what the server opened. */
  close(): Promise<void>;
}

/**
 * Builds the app with the real parts (template, profiler, predictor, pools,
 * executor, history) unless `options.deps` brings its own, and the tenant store.
 */
export function createServer(options: ServerOptions = {}): WarmflowServer {
  const adminKey: AdminKey =
    options.adminKey === undefined ? resolveAdminKey() : { key: options.adminKey, source: 'env' };
  const ownTenancy = options.deps?.tenancy === undefined;
  const tenancy =
    options.deps?.tenancy ??
    new TenancyStore({
      adminKey: adminKey.key,
      ...(options.databasePath ? { path: options.databasePath } : {}),
    });
  const fileRoots = options.fileRoots ?? [process.cwd()];
  const areas = options.areas ?? defaultAreas(fileRoots);
  const sandbox = resolveMechanism(options.sandbox ?? 'auto');
  const given = options.deps ?? {};
  const needsDefaults = (
    ['template', 'profiler', 'predictor', 'pools', 'executor', 'history'] as const
  ).some((part) => given[part] === undefined);
  // Only build the real parts (a provider, pools, history) when something is left to fill.
  const defaults = needsDefaults
    ? defaultDeps({
        fileRoots,
        areas,
        sandbox,
        ...(options.catalogue !== undefined ? { catalogue: options.catalogue } : {}),
        ...(options.pools !== undefined ? { pools: options.pools } : {}),
        ...(options.history !== undefined ? { history: options.history } : {}),
        ...(options.keepRuns !== undefined ? { keepRuns: options.keepRuns } : {}),
      })
    : undefined;
  const deps = { ...defaults?.deps, ...given, tenancy } as AppDeps;
  // Flows, profiles and runs outlive the process in the home database (or `databasePath`).
  const records = options.records ?? new RecordStore(options.databasePath ?? homeDatabasePath());
  const built = createApp(deps, { ...options, fileRoots, areas, records });
  // Runs the previous server process was running when it stopped continue from their checkpoints.
  const resuming = resumeInterruptedExecutions(built.state).catch((error: unknown) =>
    built.state.log('could not resume the interrupted runs', error),
  );
  const sampler = setInterval(() => {
    if (built.state.running.size === 0) return;
    for (const tenant of built.state.timeline.tenants()) {
      deps.pools.list(tenant).then(
        (pools) => built.state.timeline.sample(tenant, pools),
        () => {},
      );
    }
  }, options.sampleIntervalMs ?? 1000);
  sampler.unref();
  return {
    ...built,
    adminKey,
    async close() {
      clearInterval(sampler);
      built.state.keeper?.close();
      // Runs on live streams would go on for ever: they drain (what they read is written and acknowledged).
      drainLiveExecutions(built.state);
      await resuming;
      await Promise.allSettled([...built.state.running]);
      await defaults?.close();
      await options.catalogue?.close();
      if (ownTenancy && tenancy instanceof TenancyStore) tenancy.close();
      if (options.records === undefined) await records.close();
    },
  };
}

/** A listening server. */
export interface RunningServer {
  url: string;
  server: WarmflowServer;
  close(): Promise<void>;
}

/**
 * Starts the HTTP server and resolves once it listens.
 *
 * ```ts
 * const { url, close } = await startServer({ port: 0 });
 * // ... GET `${url}/healthz`
 * await close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const server = createServer(options);
  const host = options.host ?? '127.0.0.1';
  let http!: ServerType;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    http = serve({ fetch: server.app.fetch, port: options.port ?? 7070, hostname: host }, (info) =>
      resolve(info),
    );
    http.once('error', reject);
  });
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${address.port}`,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        if ('closeAllConnections' in http) http.closeAllConnections();
      });
      await server.close();
    },
  };
}
