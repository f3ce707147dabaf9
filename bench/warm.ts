/**
 * `npm run bench:warm`: time from "resources needed" to "node code loaded and ready to take a
 * record", on demand versus claimed from a warm pool, for every function node of a flow from
 * examples/ (default clickstream; WARMFLOW_BENCH_FLOW overrides).
 *
 * - cold (on demand): provision one worker per function node in parallel (process start, module
 *   load, ready), open an authenticated connection to each and do one ping round trip on it;
 * - warm: claim a ready set from the pool and do one ping round trip on each claimed connection;
 * - floor: what no on-demand start can beat: one child process per resource, forked in parallel
 *   like the cold set, each loading that resource's function modules the way a worker does
 *   (`warm-floor-child`) and reporting over IPC. `cold_vs_floor` is cold over floor; `fork_ms_p50`
 *   is the same children loading nothing (process start alone).
 *
 * Trials alternate (cold, floor, fork, warm, cold, ...) so load drift hits all alike; the pool is
 * let settle between trials (untimed). Last line: one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rpr } from '../src/predictor/rpr.js';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../src/provision/pool/pre-provisioning-service.js';
import { planResources } from '../src/provision/pool/resource-plan.js';
import { loadFlow } from '../src/template/load-flow.js';
import { WorkerClient } from '../src/worker/client.js';
import { heapLimitMb } from '../src/worker/spawn.js';

const here = fileURLToPath(import.meta.url);
// Compiled to dist/bench/warm.js (two levels below the repo) or run from bench/warm.ts.
const root = path.resolve(path.dirname(here), here.endsWith('.ts') ? '..' : '../..');
const flowFile = path.resolve(
  root,
  process.env.WARMFLOW_BENCH_FLOW ?? 'examples/clickstream/flow.yaml',
);
const trials = Number(process.env.WARMFLOW_BENCH_TRIALS ?? 30);
const tenant = 'bench';

function quantile(sorted: number[], q: number): number {
  // Nearest rank: with 30 trials p99 is the slowest one, as it should be.
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * Forks one floor child per module list, all at once, and resolves when every one has said
 * ready. The children run like workers: the same Node flags (tsx from sources) and heap limit,
 * and a temp folder that persists across trials as a tenant's does (tsx caches compiled
 * TypeScript there).
 */
async function floorSet(moduleLists: string[][], tmp: string, heapMb: number): Promise<void> {
  const fromSources = here.endsWith('.ts');
  const child = path.join(
    path.dirname(here),
    fromSources ? 'warm-floor-child.ts' : 'warm-floor-child.js',
  );
  const loader = fromSources ? ['--import', 'tsx'] : [];
  await Promise.all(
    moduleLists.map(
      (modules) =>
        new Promise<void>((resolve, reject) => {
          const proc = spawn(
            process.execPath,
            [`--max-old-space-size=${heapMb}`, ...loader, child, ...modules],
            {
              cwd: root,
              env: { ...process.env, TMPDIR: tmp },
              stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
            },
          );
          proc.once('message', () => {
            proc.kill();
            resolve();
          });
          proc.once('exit', (code) =>
            reject(new Error(`floor child exited with code ${code} before ready`)),
          );
        }),
    ),
  );
}

async function settle(
  service: PreProvisioningService,
  provider: LocalProvider,
  template: string,
  resources: number,
): Promise<void> {
  for (;;) {
    const [status] = service.status({ tenant, template });
    const live = (await provider.list({ tenant, template })).length;
    if (
      status !== undefined &&
      status.ready_sets === 1 &&
      status.warming_sets === 0 &&
      live === resources
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'warmflow-bench-warm-'));
  const flow = await loadFlow(flowFile);
  const template = flow.template.name;
  const functionNodes = flow.template.nodes
    .filter((node) => node.kind === 'function')
    .map((node) => node.id);
  // Small fixed requests: this measures start-up, not sizing; three of them fit a 2-core machine twice.
  const rprs: Rpr[] = functionNodes.map((node_id) => ({
    node_id,
    resource_type: 'CPU',
    cpu_cores: 0.25,
    memory_gb: 0.25,
    gpu_enabled: false,
    data_store_instance: null,
  }));
  const plans = planResources(flow, rprs);
  const provider = new LocalProvider({ root: home });
  const service = new PreProvisioningService({ provider, defaultKeepAliveMs: 0 });
  const token = 'bench-cold-token-0123456789abcdef';
  const cold: number[] = [];
  const warm: number[] = [];
  const claimOnly: number[] = [];
  const floor: number[] = [];
  const fork: number[] = [];
  const floorTmp = path.join(home, 'floor-tmp');
  mkdirSync(floorTmp, { recursive: true });
  const moduleLists = plans.map((plan) => plan.warm.functions.map((fn) => fn.module));
  const heapMb = heapLimitMb(rprs[0].memory_gb);
  try {
    await service.preProvision({ flow, rprs, tenant, sets: 1 });
    for (let trial = 0; trial < trials; trial++) {
      // Cold: everything an on-demand start pays.
      let start = performance.now();
      const racs = await Promise.all(
        plans.map((plan) =>
          provider.provision({
            tenant,
            template: `${template}-cold`,
            rpr: plan.rpr,
            node_ids: plan.node_ids,
            warm: plan.warm,
            token,
          }),
        ),
      );
      const clients = await Promise.all(
        racs.map((rac) => WorkerClient.connect(rac.network_address, token)),
      );
      await Promise.all(clients.map((client) => client.ping()));
      cold.push(performance.now() - start);
      for (const client of clients) client.close();
      await Promise.all(racs.map((rac) => provider.release(rac.resource_id)));

      // Floor: the same number of processes, loading the same modules, nothing else.
      start = performance.now();
      await floorSet(moduleLists, floorTmp, heapMb);
      floor.push(performance.now() - start);
      start = performance.now();
      await floorSet(
        moduleLists.map(() => []),
        floorTmp,
        heapMb,
      );
      fork.push(performance.now() - start);

      // Warm: claim a set and reach every claimed worker once.
      await settle(service, provider, template, plans.length);
      start = performance.now();
      const claim = service.claim(template, tenant);
      claimOnly.push(performance.now() - start);
      if (claim === null) throw new Error('no warm set to claim');
      await Promise.all(claim.resources.map((resource) => resource.client.ping()));
      warm.push(performance.now() - start);
      await service.release(claim);
      await settle(service, provider, template, plans.length);
      process.stderr.write(
        `trial ${trial + 1}/${trials}: cold ${cold.at(-1)!.toFixed(1)} ms, floor ${floor.at(-1)!.toFixed(1)} ms, warm ${warm.at(-1)!.toFixed(3)} ms\n`,
      );
    }
  } finally {
    await service.close();
    await provider.close();
    rmSync(home, { recursive: true, force: true });
  }
  cold.sort((a, b) => a - b);
  warm.sort((a, b) => a - b);
  claimOnly.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);
  fork.sort((a, b) => a - b);
  const result = {
    bench: 'warm',
    flow: path.relative(root, flowFile),
    resources_per_set: plans.length,
    trials,
    cold_ms_p50: round(quantile(cold, 0.5)),
    cold_ms_p99: round(quantile(cold, 0.99)),
    warm_ms_p50: round(quantile(warm, 0.5)),
    warm_ms_p99: round(quantile(warm, 0.99)),
    ratio: Math.round((quantile(cold, 0.5) / quantile(warm, 0.5)) * 10) / 10,
    // The pool's own share of warm: the synchronous claim, before the round trips.
    claim_only_ms_p50: round(quantile(claimOnly, 0.5)),
    floor_ms_p50: round(quantile(floor, 0.5)),
    cold_vs_floor: Math.round((quantile(cold, 0.5) / quantile(floor, 0.5)) * 100) / 100,
    fork_ms_p50: round(quantile(fork, 0.5)),
    goal: { warm_ms_p50_below: 2, ratio_at_least: 50, cold_vs_floor_at_most: 3 },
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  process.stdout.write(
    `on demand: p50 ${result.cold_ms_p50} ms, p99 ${result.cold_ms_p99} ms; warm claim: p50 ${result.warm_ms_p50} ms, p99 ${result.warm_ms_p99} ms; ratio ${result.ratio}x; floor (fork + load, in parallel) p50 ${result.floor_ms_p50} ms, cold/floor ${result.cold_vs_floor}\n`,
  );
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
