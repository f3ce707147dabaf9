import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { WarmflowError } from '../../errors.js';
import { openHistory } from '../../history/open-history.js';
import { historyReport, runReport } from '../../history/history-report.js';
import type { RunRecord } from '../../history/history-store.js';
import { callServer, serverTarget, withServerOption } from '../remote.js';
import { formatHistoryText } from '../../history/format-history.js';

/**
 * `warmflow history [FLOW] [--history URL] [--tenant T] [--json] [--limit N]`: past runs,
 * newest first, with per node the predicted cores and memory against what it used.
 */
export function registerHistory(program: Command): void {
  const command = program
    .command('history')
    .description('list past runs with, per node, predicted resources against measured usage')
    .argument('[flow]', 'a flow name, or a flow file (its `name:` is used); omit for all flows')
    .option(
      '--history <location>',
      'history to read: postgres://… URL or SQLite file (default $WARMFLOW_HOME/warmflow.db)',
    )
    .option('--tenant <tenant>', 'only runs of this tenant')
    .option('--limit <n>', 'at most N runs', parseLimit, 20)
    .option('--json', 'print the runs as a JSON array');
  withServerOption(command).action(
    async (
      flow: string | undefined,
      options: {
        history?: string;
        tenant?: string;
        limit: number;
        json?: boolean;
        server?: string;
      },
    ) => {
      const template = flow === undefined ? undefined : await flowName(flow);
      const target = serverTarget(options.server);
      // Remotely the server answers with the key's tenant's runs only.
      const history = target
        ? null
        : await openHistory(options.history ?? process.env.WARMFLOW_HISTORY);
      try {
        const runs = target
          ? (
              (
                await callServer(target, 'GET', 'v1/history', {
                  query: { template, limit: String(options.limit) },
                })
              ).runs as RunRecord[]
            ).map(runReport)
          : await historyReport(history!, {
              ...(template === undefined ? {} : { template }),
              ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
              limit: options.limit,
            });
        if (options.json) {
          process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
        } else if (runs.length === 0) {
          process.stdout.write(
            `no runs recorded${template === undefined ? '' : ` for flow "${template}"`} yet; ` +
              '`warmflow run FLOW` records one\n',
          );
        } else {
          process.stdout.write(formatHistoryText(runs));
        }
      } finally {
        await history?.close();
      }
    },
  );
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `--limit must be a positive integer, got "${value}"`,
    );
  }
  return n;
}

/**
 * A flow file's `name:` (YAML/JSON), or the argument itself when it is not a file.
 * TS/JS flow modules are loaded with the template loader to find their name.
 */
async function flowName(flow: string): Promise<string> {
  if (!existsSync(flow)) return flow;
  const ext = path.extname(flow).toLowerCase();
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    const { loadFlow } = await import('../../template/load-flow.js');
    return (await loadFlow(flow)).template.name;
  }
  let name: unknown;
  try {
    name = (parseYaml(await readFile(flow, 'utf8')) as { name?: unknown } | null)?.name;
  } catch (cause) {
    throw new WarmflowError('E_INVALID_FLOW', `${flow} is not a readable flow file`, {
      cause,
      hint: 'pass a flow file with a `name:` field, or the flow name itself',
    });
  }
  if (typeof name !== 'string' || name === '') {
    throw new WarmflowError('E_INVALID_FLOW', `${flow} has no \`name:\``, {
      hint: 'add `name: my-flow` to the flow file, or pass the flow name itself',
    });
  }
  return name;
}
