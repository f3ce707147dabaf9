import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { runAndReport, withRunOptions, type RunCommandOptions } from './run.js';

/** The bundled example flow, found from the installed package (dist/src/cli/commands or src/cli/commands). */
export function demoFlowPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'examples', 'clickstream', 'flow.yaml');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new WarmflowError(
    'E_DEMO',
    'the bundled example examples/clickstream is missing from this installation',
  );
}

/**
 * `warmflow demo`: `run` on the bundled clickstream example and its data, printing the
 * newcomer's report: template, profile, RPRs, the warm pool, the run, and each node's
 * measured usage against its prediction. Works with an empty WARMFLOW_HOME and nothing
 * but Node (SQLite history, local worker processes).
 */
export function registerDemo(program: Command): void {
  withRunOptions(
    program
      .command('demo')
      .description('run the bundled clickstream example end to end and explain what happened'),
  ).action(async (options: RunCommandOptions) => {
    const flow = demoFlowPath();
    if (!options.json) {
      process.stdout.write(
        `warmflow demo: ${path.relative(process.cwd(), flow) || flow}\n` +
          'Clicks are parsed, enriched with the user profile and cut into sessions per user; sessions go to SQLite.\n\n',
      );
    }
    await runAndReport(flow, {
      ...options,
      out: options.out ?? path.resolve('out', 'clickstream'),
    });
  });
}
