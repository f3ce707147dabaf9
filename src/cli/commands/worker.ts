import type { Command } from 'commander';

/**
 * `warmflow worker`: runs one worker process (what a resource runs: a local child of the
 * orchestrator, or a pod's container). The pool token comes from WARMFLOW_WORKER_TOKEN and the
 * WarmSpec from WARMFLOW_WARM_SPEC or `--spec FILE`; never from argv.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: warm the node code, listen on TCP, serve the worker protocol')
    .option('--resource-id <id>', 'resource id reported in hello and heartbeats')
    .option('--nodes <ids>', 'comma-separated template node ids served', '')
    .option('--cpu-cores <n>', 'node instances that may run in parallel', '1')
    .option(
      '--memory-gb <n>',
      'memory bound (start node with --max-old-space-size to enforce the heap part)',
      '0.5',
    )
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0: any free port)', '0')
    .option('--listen <host:port>', 'listen address in one flag (overrides --host/--port)')
    .option('--spec <file>', 'WarmSpec JSON file (default: $WARMFLOW_WARM_SPEC)')
    .option('--orchestrator-pid <pid>', 'exit when this process is gone')
    .option(
      '--orphan-grace-ms <ms>',
      'after losing the orchestrator, wait this long for adoption',
      '0',
    )
    .option(
      '--watch-timeout-ms <ms>',
      'exit when no orchestrator watched heartbeats for this long (0: never)',
      '0',
    )
    .action(async (options: Record<string, string | undefined>) => {
      const { parseWorkerArgs, runWorker, TOKEN_ENV, SPEC_ENV } =
        await import('../../worker/main.js');
      const argv: string[] = [];
      for (const [name, value] of Object.entries(options)) {
        if (value === undefined) continue;
        argv.push(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value);
      }
      const parsed = parseWorkerArgs(argv);
      delete process.env[TOKEN_ENV];
      delete process.env[SPEC_ENV];
      await runWorker(parsed);
    });
}
