import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';

/**
 * `warmflow serve --no-http`: the long-lived owner of this WARMFLOW_HOME's warm pools. It cleans
 * up workers a previous owner left, rebuilds the persisted pools, and answers `warmflow pool`
 * over the control socket `$WARMFLOW_HOME/control.sock` until SIGINT/SIGTERM, when it releases
 * every worker (pool definitions stay persisted and come back on the next start).
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('own the warm pools of this WARMFLOW_HOME (pool up/status/down talk to it)')
    .option(
      '--no-http',
      'serve only the local control socket (the HTTP API is wired in separately)',
    )
    .option(
      '--cpu-cores <n>',
      'cores the local provider may hand out (default: all of this machine)',
    )
    .option(
      '--memory-gb <n>',
      'memory the local provider may hand out (default: all of this machine)',
    )
    .option('--json', 'print the ready line and the restore report as JSON')
    .action(
      async (options: { http: boolean; cpuCores?: string; memoryGb?: string; json?: boolean }) => {
        if (options.http) {
          throw new WarmflowError(
            'E_INVALID_ARGUMENTS',
            'this command serves pools only; the HTTP API is not part of it yet',
            {
              hint: 'run `warmflow serve --no-http`',
            },
          );
        }
        const { startPoolOwner } = await import('../../provision/control/pool-owner.js');
        const capacity: { cpu_cores?: number; memory_gb?: number } = {};
        if (options.cpuCores !== undefined) capacity.cpu_cores = Number(options.cpuCores);
        if (options.memoryGb !== undefined) capacity.memory_gb = Number(options.memoryGb);
        const owner = await startPoolOwner({ provider: { capacity } });
        const ready = {
          type: 'ready',
          pid: process.pid,
          control_socket: owner.socketPath,
          ...owner.restored,
        };
        if (options.json) process.stdout.write(JSON.stringify(ready) + '\n');
        else {
          process.stdout.write(
            `warmflow serve: owning pools, control socket ${owner.socketPath} (pid ${process.pid})\n`,
          );
          if (owner.restored.killed > 0)
            process.stdout.write(
              `  cleaned up ${owner.restored.killed} worker(s) left by a previous owner\n`,
            );
          for (const pool of owner.restored.restored)
            process.stdout.write(`  restored pool ${pool}\n`);
          for (const failure of owner.restored.failed) {
            process.stdout.write(
              `  could not restore ${failure.tenant}/${failure.template}: ${failure.error}\n`,
            );
          }
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await owner.close();
      },
    );
}
