import path from 'node:path';
import type { Command } from 'commander';
import { readRprsFile } from './rpr-file.js';
import type { Rac } from '../../provision/rac.js';
import type { PoolStatus } from '../../provision/pool/warm-pool.js';
import type { PoolView } from '../../server/ports.js';
import { callServer, serverTarget, withServerOption, type ServerTarget } from '../remote.js';

/** One line per pool of a server's `GET /v1/pools`. */
function formatPoolView(pool: PoolView): string {
  const claimed = pool.resources.filter((r) => r.status === 'claimed').length;
  return (
    `${pool.template} (flow ${pool.flow_id}): ${pool.resources.length} resources (${claimed} claimed); ` +
    `holds ${pool.held.cores} cores, ${pool.held.memory_gb} GB\n` +
    (pool.last_error == null ? '' : `  last error: ${pool.last_error}\n`) +
    pool.resources.map(formatRac).join('\n')
  );
}

/** Every pool of the key's tenant on the server (`GET /v1/pools`, all pages). */
export async function serverPools(target: ServerTarget): Promise<PoolView[]> {
  const pools: PoolView[] = [];
  // The list is paged: follow `next` until the last page.
  for (let after: string | null = null; ;) {
    const query: string = after === null ? '' : `?after=${encodeURIComponent(after)}`;
    const answer = await callServer(target, 'GET', `v1/pools${query}`);
    pools.push(...(answer.pools as PoolView[]));
    after = (answer.next as string | null | undefined) ?? null;
    if (after === null) return pools;
  }
}

/** The template name a `pool down` argument means: a flow file's `name`, else the argument. */
async function templateOf(flow: string): Promise<string> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(flow)) return flow;
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  const name = (parse(await readFile(flow, 'utf8')) as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : flow;
}

function formatRac(rac: Rac): string {
  return `    ${rac.resource_id}  ${rac.node_id}  ${rac.status}  ${rac.network_address}  ${rac.rpr.cpu_cores} cores, ${rac.rpr.memory_gb} GB`;
}

function formatPool(pool: PoolStatus): string {
  const lines = [
    `${pool.tenant}/${pool.template}: ${pool.ready_sets}/${pool.target_sets} sets ready, ${pool.warming_sets} warming, ${pool.claimed_sets} claimed; ` +
      `holds ${pool.held.resources} resources, ${pool.held.cpu_cores} cores, ${pool.held.memory_gb} GB; ` +
      (pool.expires_at === null ? 'no expiry' : `expires ${pool.expires_at} if idle`),
  ];
  if (pool.last_error !== null) lines.push(`  last error: ${pool.last_error}`);
  for (const set of pool.sets) {
    lines.push(
      `  set ${set.set_id} (${set.state}${set.claim_id === null ? '' : `, claim ${set.claim_id}`})`,
    );
    lines.push(...set.resources.map(formatRac));
  }
  return lines.join('\n');
}

/**
 * `warmflow pool up|status|down`: manage the warm pools owned by `warmflow serve --no-http`
 * (its control socket), or with `--server URL` and WARMFLOW_API_KEY those of the key's
 * tenant on a running server.
 */
export function registerPool(program: Command): void {
  const pool = program
    .command('pool')
    .description('warm pools (held by `warmflow serve --no-http`)');
  withServerOption(
    pool
      .command('up')
      .description('pre-provision warm resources for a flow from its RPRs and print their RACs')
      .argument('<flow>', 'flow file')
      .requiredOption('--rpr <file>', 'RPRs: a JSON array, or `warmflow predict --json` output')
      .option('--sets <n>', 'ready sets to keep (one resource per placement group each)', '1')
      .option(
        '--keep-alive <ms>',
        'release the pool after this long without use (0: never)',
        '600000',
      )
      .option('--json', 'print the RACs as JSON'),
  ).action(
    async (
      flow: string,
      options: { rpr: string; sets: string; keepAlive: string; json?: boolean; server?: string },
    ) => {
      const target = serverTarget(options.server);
      if (target !== undefined) {
        // As the tenant of the key: register the flow, then pre-provision from the RPRs.
        const { readFile } = await import('node:fs/promises');
        const registered = await callServer(target, 'POST', 'v1/flows', {
          yaml: await readFile(flow, 'utf8'),
          query: { file: path.resolve(flow) },
        });
        const made = (await callServer(target, 'POST', 'v1/pools', {
          json: { flow_id: registered.id, rprs: await readRprsFile(options.rpr) },
        })) as unknown as PoolView;
        if (options.json) process.stdout.write(JSON.stringify(made.resources, null, 2) + '\n');
        else process.stdout.write(`pool ${formatPoolView(made)}\n`);
        return;
      }
      const { sendControl } = await import('../../provision/control/control-client.js');
      const result = await sendControl({
        op: 'up',
        flow: path.resolve(flow),
        rprs: await readRprsFile(options.rpr),
        sets: Number(options.sets),
        keep_alive_ms: Number(options.keepAlive),
      });
      const racs = result.racs as Rac[];
      if (options.json) process.stdout.write(JSON.stringify(racs, null, 2) + '\n');
      else
        process.stdout.write(
          `pool ${String(result.template)}: ${racs.length} resources ready\n${racs.map(formatRac).join('\n')}\n`,
        );
    },
  );
  withServerOption(
    pool
      .command('status')
      .description('what the pools hold: sets, resources, addresses, expiry')
      .option('--json', 'print the pool status as JSON'),
  ).action(async (options: { json?: boolean; server?: string }) => {
    const target = serverTarget(options.server);
    if (target !== undefined) {
      const pools = await serverPools(target);
      if (options.json) process.stdout.write(JSON.stringify(pools, null, 2) + '\n');
      else
        process.stdout.write(
          pools.length === 0 ? 'no warm pools\n' : pools.map(formatPoolView).join('\n') + '\n',
        );
      return;
    }
    const { sendControl } = await import('../../provision/control/control-client.js');
    const pools = (await sendControl({ op: 'status' })).pools as PoolStatus[];
    if (options.json) process.stdout.write(JSON.stringify(pools, null, 2) + '\n');
    else
      process.stdout.write(
        pools.length === 0 ? 'no warm pools\n' : pools.map(formatPool).join('\n') + '\n',
      );
  });
  withServerOption(
    pool
      .command('down')
      .description("release a flow's pool (or every pool) and its workers")
      .argument('[flow]', 'flow file or template name (default: all pools)')
      .option('--json', 'print { released } as JSON'),
  ).action(async (flow: string | undefined, options: { json?: boolean; server?: string }) => {
    const target = serverTarget(options.server);
    if (target !== undefined) {
      // Only the key's tenant's pools: the server never shows another tenant's.
      const template = flow === undefined ? undefined : await templateOf(flow);
      const chosen = (await serverPools(target)).filter(
        (p) => template === undefined || p.template === template || p.id === template,
      );
      for (const p of chosen)
        await callServer(target, 'DELETE', `v1/pools/${encodeURIComponent(p.id)}`);
      if (options.json) process.stdout.write(JSON.stringify({ released: chosen.length }) + '\n');
      else process.stdout.write(`released ${chosen.length} pool(s)\n`);
      return;
    }
    const { sendControl } = await import('../../provision/control/control-client.js');
    const { existsSync } = await import('node:fs');
    const request =
      flow === undefined
        ? { op: 'down' as const }
        : existsSync(flow)
          ? { op: 'down' as const, flow: path.resolve(flow) }
          : { op: 'down' as const, template: flow };
    const { released } = await sendControl(request);
    if (options.json) process.stdout.write(JSON.stringify({ released }) + '\n');
    else process.stdout.write(`released ${String(released)} pool(s)\n`);
  });
}
