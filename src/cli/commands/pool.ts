import path from 'node:path';
import type { Command } from 'commander';
import { readRprsFile } from './rpr-file.js';
import type { Rac } from '../../provision/rac.js';
import type { PoolStatus } from '../../provision/pool/warm-pool.js';

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

/** `warmflow pool up|status|down`: manage the warm pools owned by `warmflow serve --no-http`. */
export function registerPool(program: Command): void {
  const pool = program
    .command('pool')
    .description('warm pools (held by `warmflow serve --no-http`)');
  pool
    .command('up')
    .description('pre-provision warm resources for a flow from its RPRs and print their RACs')
    .argument('<flow>', 'flow file')
    .requiredOption('--rpr <file>', 'RPRs: a JSON array, or `warmflow predict --json` output')
    .option('--sets <n>', 'ready sets to keep (one resource per function node each)', '1')
    .option(
      '--keep-alive <ms>',
      'release the pool after this long without use (0: never)',
      '600000',
    )
    .option('--json', 'print the RACs as JSON')
    .action(
      async (
        flow: string,
        options: { rpr: string; sets: string; keepAlive: string; json?: boolean },
      ) => {
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
  pool
    .command('status')
    .description('what the pools hold: sets, resources, addresses, expiry')
    .option('--json', 'print the pool status as JSON')
    .action(async (options: { json?: boolean }) => {
      const { sendControl } = await import('../../provision/control/control-client.js');
      const pools = (await sendControl({ op: 'status' })).pools as PoolStatus[];
      if (options.json) process.stdout.write(JSON.stringify(pools, null, 2) + '\n');
      else
        process.stdout.write(
          pools.length === 0 ? 'no warm pools\n' : pools.map(formatPool).join('\n') + '\n',
        );
    });
  pool
    .command('down')
    .description("release a flow's pool (or every pool) and its workers")
    .argument('[flow]', 'flow file or template name (default: all pools)')
    .option('--json', 'print { released } as JSON')
    .action(async (flow: string | undefined, options: { json?: boolean }) => {
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
