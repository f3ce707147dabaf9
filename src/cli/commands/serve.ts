import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import type { Provider } from '../../provision/provider.js';

interface ServeOptions {
  http: boolean;
  port: string;
  host: string;
  root?: string[];
  provider: string;
  cpuCores?: string;
  memoryGb?: string;
  json?: boolean;
  keepRuns?: string;
  stores?: string;
  sandbox: string;
  cpuPinning: string;
  keepAlivePolicy?: string;
  policyTimeScale: string;
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `${flag} must be a positive number, got "${value}"`,
    );
  }
  return n;
}

async function makeProvider(options: ServeOptions): Promise<Provider | undefined> {
  if (options.provider === 'local') return undefined;
  if (options.provider === 'kubernetes') {
    const { createKubernetesProvider } = await import('../../provision/kubernetes/index.js');
    return createKubernetesProvider();
  }
  throw new WarmflowError(
    'E_INVALID_ARGUMENTS',
    `unknown provider "${options.provider}"; use local or kubernetes`,
  );
}

/**
 * `warmflow serve`: the long-lived orchestrator. It owns this WARMFLOW_HOME's warm pools (cleans
 * up workers a previous owner left, rebuilds the persisted pools, answers `warmflow pool` over
 * `$WARMFLOW_HOME/control.sock`) and, unless `--no-http`, serves the HTTP API and the dashboard.
 * On SIGINT/SIGTERM it releases every worker; pool definitions stay and come back next start.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the orchestrator: own the warm pools and serve the HTTP API + dashboard')
    .option('--no-http', 'serve only the local control socket (pool up/status/down)')
    .option('--port <n>', 'HTTP port', '7070')
    .option('--host <addr>', 'HTTP listen address', '127.0.0.1')
    .option('--root <dir...>', 'folders whose files API requests may name (default: cwd)')
    .option('--provider <name>', 'where resources run: local | kubernetes', 'local')
    .option('--cpu-cores <n>', 'cores the local provider may hand out (default: all)')
    .option('--memory-gb <n>', 'memory the local provider may hand out (default: all)')
    .option('--json', 'print the ready line and the restore report as JSON')
    .option('--keep-runs <n>', 'per-run folders (inputs, outputs) kept per tenant', '100')
    .option(
      '--stores <file>',
      'catalogue of network store instances (redis, postgres) and the tenants granted each',
    )
    .option(
      '--sandbox <how>',
      'confinement of tenant code: auto (bubblewrap when it works here) | bwrap | none',
      'auto',
    )
    .option(
      '--cpu-pinning <how>',
      'local workers on CPUs: none | exclusive (a resource of whole cores gets CPUs of its own, one or more stay shared)',
      'none',
    )
    .option(
      '--keep-alive-policy <policy>',
      "pre-warm and release every flow's pool by a policy on its execution requests: fixed:K, hybrid, warmflow, warmflow:B",
    )
    .option(
      '--policy-time-scale <factor>',
      "compress the policy's time: one policy minute lasts 60/FACTOR seconds (replays, tests)",
      '1',
    )
    .action(async (options: ServeOptions) => {
      // Everything the server writes (databases, tenants' inputs and outputs, worker
      // folders) is its user's only, whatever the login shell's umask.
      process.umask(0o077);
      const keepRuns = positiveNumber('--keep-runs', options.keepRuns);
      const timeScale = positiveNumber('--policy-time-scale', options.policyTimeScale) ?? 1;
      if (options.keepAlivePolicy !== undefined) {
        // Refuse a bad policy before anything starts.
        const { parsePolicy } = await import('../../policy/parse-policy.js');
        parsePolicy(options.keepAlivePolicy);
      }
      const capacity: { cpu_cores?: number; memory_gb?: number } = {};
      const cores = positiveNumber('--cpu-cores', options.cpuCores);
      const memory = positiveNumber('--memory-gb', options.memoryGb);
      if (cores !== undefined) capacity.cpu_cores = cores;
      if (memory !== undefined) capacity.memory_gb = memory;
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new WarmflowError(
          'E_INVALID_ARGUMENTS',
          `--port must be 0..65535, got "${options.port}"`,
        );
      }
      if (!['auto', 'bwrap', 'none'].includes(options.sandbox)) {
        throw new WarmflowError(
          'E_INVALID_ARGUMENTS',
          `--sandbox must be auto, bwrap or none, got "${options.sandbox}"`,
        );
      }
      if (!['none', 'exclusive'].includes(options.cpuPinning)) {
        throw new WarmflowError(
          'E_INVALID_ARGUMENTS',
          `--cpu-pinning must be none or exclusive, got "${options.cpuPinning}"`,
        );
      }
      const cpuPinning = options.cpuPinning as 'none' | 'exclusive';
      const { resolveMechanism } = await import('../../tenancy/sandbox.js');
      const { defaultAreas } = await import('../../server/app-state.js');
      const { StoreCatalogue } = await import('../../stores/store-catalogue.js');
      const sandbox = resolveMechanism(options.sandbox as 'auto' | 'bwrap' | 'none');
      const fileRoots = options.root ?? [process.cwd()];
      const areas = defaultAreas(fileRoots);
      const catalogue =
        options.stores === undefined ? undefined : StoreCatalogue.load(options.stores);
      const providerInstance = await makeProvider(options);
      const { startPoolOwner } = await import('../../provision/control/pool-owner.js');
      const owner = await startPoolOwner({
        provider: { capacity, areas, sandbox, cpuPinning },
        ...(providerInstance ? { providerInstance } : {}),
      });
      let http: { url: string; close(): Promise<void>; admin: string } | undefined;
      if (options.http) {
        try {
          const { startServer } = await import('../../server/start-server.js');
          const running = await startServer({
            port,
            host: options.host,
            pools: { service: owner.service, provider: owner.provider },
            fileRoots,
            areas,
            sandbox,
            ...(catalogue !== undefined ? { catalogue } : {}),
            ...(keepRuns !== undefined ? { keepRuns: Math.ceil(keepRuns) } : {}),
            ...(options.keepAlivePolicy !== undefined
              ? {
                  keepAlivePolicy: {
                    spec: options.keepAlivePolicy,
                    minuteMs: 60_000 / timeScale,
                  },
                }
              : {}),
          });
          const key = running.server.adminKey;
          const admin =
            key.source === 'env'
              ? 'from WARMFLOW_ADMIN_KEY'
              : `in ${key.file ?? 'the home folder'}`;
          http = { url: running.url, close: () => running.close(), admin };
        } catch (error) {
          await owner.close();
          throw error;
        }
      }
      const ready = {
        type: 'ready',
        pid: process.pid,
        provider: owner.provider.name,
        sandbox,
        cpu_pinning: cpuPinning,
        control_socket: owner.socketPath,
        ...(http
          ? {
              url: http.url,
              dashboard: `${http.url}/`,
              admin_key: http.admin,
              tenant_key: `warmflow tenant create NAME --server ${http.url}`,
            }
          : {}),
        ...owner.restored,
      };
      if (options.json) process.stdout.write(JSON.stringify(ready) + '\n');
      else {
        process.stdout.write(
          `warmflow serve: owning pools (${owner.provider.name} provider), control socket ${owner.socketPath} (pid ${process.pid})\n`,
        );
        if (http) {
          process.stdout.write(`  HTTP API ${http.url}/v1  (OpenAPI: ${http.url}/openapi.json)\n`);
          process.stdout.write(`  dashboard ${http.url}/   admin key ${http.admin}\n`);
          process.stdout.write(
            `  tenant key: \`warmflow tenant create NAME --server ${http.url}\` prints one (admin key ${http.admin}, same WARMFLOW_HOME);\n` +
              `    then WARMFLOW_API_KEY=<key> warmflow run FLOW --server ${http.url}, and paste the key into the dashboard\n`,
          );
        }
        if (owner.restored.killed > 0)
          process.stdout.write(
            `  cleaned up ${owner.restored.killed} worker(s) left by a previous owner\n`,
          );
        for (const pool of owner.restored.restored)
          process.stdout.write(`  restored pool ${JSON.stringify(pool)}\n`);
        for (const failure of owner.restored.failed) {
          // Template names and errors come from tenants: JSON strings cannot forge a line.
          process.stdout.write(
            `  could not restore ${JSON.stringify(`${failure.tenant}/${failure.template}`)}: ${JSON.stringify(failure.error)}\n`,
          );
        }
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await http?.close();
      await owner.close();
    });
}
