import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { runAndReport, withRunOptions, type RunCommandOptions } from './run.js';
import type { RunFlowResult } from '../../flow/run-flow.js';
import { warmflowHome } from '../../home.js';

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
    const result = await runAndReport(flow, {
      ...options,
      out: options.out ?? path.resolve('out', 'clickstream'),
    });
    if (!options.json && result !== undefined) process.stdout.write(demoEpilogue(result, options));
  });
}

/**
 * What the demo's report means and what to try next: the contract's names (DCP, RPR, RAC),
 * how schema evolution's probability starts from a prior, and where the results are.
 */
export function demoEpilogue(result: RunFlowResult, options: RunCommandOptions): string {
  const dcp = Object.values(result.dcps)[0];
  const schema = dcp?.schema;
  const evolution =
    dcp === undefined
      ? ''
      : `    schema evolution p=${dcp.schema_evolution_probability.toFixed(2)} is the chance the next window of records\n` +
        `    changes the schema: (changes + 1) / (window comparisons + 2), which starts from a prior of 0.5 with\n` +
        `    no evidence and falls as identical windows are seen` +
        (schema === undefined
          ? '.\n'
          : ` (here ${schema.windows} windows of ${schema.window_size} records, ${schema.changes} change${schema.changes === 1 ? '' : 's'}).\n`);
  const stores = result.flow.spec.stores ?? {};
  const outputs = (result.status.outputs ?? []).map((o) => {
    if (o.file !== undefined) return `    ${o.type}: ${o.file}\n`;
    const file = o.store === undefined ? undefined : stores[o.store]?.path;
    const where = file === undefined ? '' : `, file ${path.resolve(result.flow.dir, file)}`;
    return `    ${o.type}: store "${o.store}"${o.store_kind !== undefined ? ` (${o.store_kind})` : ''}${where}, key space ${o.key_space}\n`;
  });
  const home = warmflowHome();
  return (
    '\nWhat the report showed\n' +
    '  DCP (Data Characteristic Profile): the "Profile" lines, what the data looks like before the run\n' +
    '    (record size, rate, distinct keys, quality).\n' +
    evolution +
    '  RPR (Resource Provisioning Request): one per node, the cores, memory and store predicted from the DCP.\n' +
    `  RAC (Resource Allocation Confirmation): one per warm resource started before the request ("Warm pool"${options.cold === true ? ', none with --cold' : ''}).\n` +
    '\nWhere things are\n' +
    (outputs.length > 0 ? `  the sessions and other outputs:\n${outputs.join('')}` : '') +
    `  dead letters: ${result.status.dead_letter_file ?? 'none'}\n` +
    (options.history === false
      ? '  history: not recorded (--no-history)\n'
      : `  history of runs (what \`warmflow history\` shows): ${path.join(home, 'warmflow.db')}\n`) +
    '\nNext steps\n' +
    (options.cold === true
      ? '  warmflow demo                    the same run from a warm pool: compare "request -> first output record"\n'
      : '  warmflow demo --cold             the same run on on-demand resources: compare "request -> first output record"\n') +
    '  warmflow history                 this run and the ones before it, predicted against measured\n' +
    '  warmflow serve                   the HTTP API and the dashboard at http://127.0.0.1:7070/ (its banner says how to get a tenant key)\n' +
    '  warmflow run FLOW --input FILE   your own flow (docs/template.md)\n'
  );
}
