import type { HistoryStore } from '../history/history-store.js';
import { openHistory } from '../history/open-history.js';
import { LocalProvider } from '../provision/local/local-provider.js';
import { PreProvisioningService } from '../provision/pool/pre-provisioning-service.js';
import type { Provider } from '../provision/provider.js';
import { BackgroundProcess } from './background-process.js';
import type { AppDeps } from './app-state.js';
import { executorPart, poolsPart, predictorPart, profilerPart } from './parts/local-parts.js';
import type { TemplatePort } from './ports.js';
import type { StoreCatalogue } from '../stores/store-catalogue.js';
import type { SandboxMechanism } from '../tenancy/sandbox.js';
import type { TenantAreas } from '../tenancy/tenant-area.js';

/**
 * The template part as the server uses it: parse (YAML or JSON text) and infer, in the
 * low-priority {@link BackgroundProcess} (its own unless given one) so no flow file holds the
 * event loop. The flow's paths (modules, sources, seeds, stores) are checked by the route
 * against the tenant's area (`resolveFlowPaths`), so a flow that could never run is refused
 * when registered.
 */
export function templatePort(background = new BackgroundProcess()): TemplatePort {
  return {
    compile: (text, file, tenant, signal) => background.compile(text, file, tenant, signal),
    compileBody: (body, file, { tenant, maxDepth, signal }) =>
      background.compileBody(
        body,
        file,
        maxDepth === undefined ? {} : { maxDepth },
        tenant,
        signal,
      ),
  };
}

/** Where the server's parts come from. */
export interface DefaultDepsOptions {
  fileRoots: readonly string[];
  /**
   * The pools to serve: `warmflow serve` passes its pool owner's service and
   * provider; without them the server makes its own (in memory, closed with it).
   */
  pools?: { service: PreProvisioningService; provider: Provider };
  /** History location (as `openHistory`); default the home SQLite database. */
  history?: string;
  /** Per-run folders kept per tenant (`serve --keep-runs`); default 100. */
  keepRuns?: number;
  /** The tenants' areas (every path of a flow resolves inside them; runs write there). */
  areas: TenantAreas;
  /** The admin's network store instances and their grants. */
  catalogue?: StoreCatalogue;
  /** How processes running tenant code are confined; default `none`. */
  sandbox?: SandboxMechanism;
}

/**
 * The real parts behind the server — template, profiler, predictor, pools,
 * executor, history — adapted to its ports, and how to close what they opened.
 */
export function defaultDeps(options: DefaultDepsOptions): {
  deps: Omit<AppDeps, 'tenancy'>;
  close: () => Promise<void>;
} {
  const own = options.pools === undefined;
  const provider =
    options.pools?.provider ??
    new LocalProvider({ areas: options.areas, sandbox: options.sandbox ?? 'none' });
  const service = options.pools?.service ?? new PreProvisioningService({ provider });
  let history: Promise<HistoryStore> | undefined;
  const openedHistory = () => (history ??= openHistory(options.history));
  const config = {
    service,
    provider,
    history: openedHistory,
    areas: options.areas,
    ...(options.catalogue !== undefined ? { catalogue: options.catalogue } : {}),
    ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
    ...(options.keepRuns !== undefined ? { keepRuns: options.keepRuns } : {}),
  };
  // Flow files and profiles share one background process: tenants take turns in it.
  const background = new BackgroundProcess();
  return {
    deps: {
      template: templatePort(background),
      profiler: profilerPart({ background }),
      predictor: predictorPart(config),
      pools: poolsPart(config),
      executor: executorPart(config),
      history: { runs: async (filter) => (await openedHistory()).runs(filter) },
    },
    async close() {
      await background.close();
      if (history !== undefined) await (await history).close();
      if (own) {
        await service.close();
        await provider.close();
      }
    },
  };
}
