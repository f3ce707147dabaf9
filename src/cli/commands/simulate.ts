import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { DEFAULT_COST_MODEL, type CostModel } from '../../policy/cost-model.js';
import { parsePolicies } from '../../policy/parse-policy.js';
import { simulate, type PolicyReport } from '../../policy/simulate.js';
import { loadTrace } from '../../policy/trace/load-trace.js';
import { loadPrices } from '../../predictor/cost/price-table.js';

interface SimulateFlags {
  invocations: string;
  memory: string;
  policy: string;
  until?: string;
  prices?: string;
  coldStartSeconds: string;
  latencyValue: string;
  json?: boolean;
}

function nonNegative(flag: string, raw: string, integer = false): number {
  const value = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new WarmflowError(
      'E_INVALID_FLAG',
      `${flag} must be ${integer ? 'an integer' : 'a number'} ≥ 0, got "${raw}"`,
    );
  }
  return value;
}

/** One line per policy for people; `--json` prints the reports keyed by policy. */
export function formatReports(specs: string[], reports: PolicyReport[]): string {
  const head = ['policy', 'cold starts', 'ratio', 'p75 %', 'wasted MB·min', 'vs fixed:10', 'cost'];
  const rows = reports.map((r, i) => [
    specs[i],
    String(r.cold_starts),
    r.cold_start_ratio.toExponential(3),
    r.p75.toFixed(1),
    r.wasted_mb_minutes.toFixed(0),
    r.wasted_vs_fixed10 === null ? '—' : r.wasted_vs_fixed10.toFixed(3),
    r.cost.toFixed(4),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ');
  const first = reports[0];
  const summary =
    first === undefined ? '' : `${first.functions} functions, ${first.invocations} invocations\n`;
  return summary + [line(head), ...rows.map(line)].join('\n');
}

/**
 * `warmflow simulate --invocations FILE --memory FILE --policy P[,P…]`: replays an Azure
 * Functions 2019 trace under pre-warm / keep-alive policies.
 */
export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description(
      'replay an Azure Functions 2019 invocation trace under keep-alive policies: cold starts, wasted memory, cost',
    )
    .requiredOption(
      '--invocations <file>',
      'invocations CSV (HashFunction and one column per minute)',
    )
    .requiredOption(
      '--memory <file>',
      'memory CSV (AverageAllocatedMb per HashFunction or HashApp)',
    )
    .option(
      '--policy <list>',
      'comma-separated: fixed:K, hybrid, warmflow (cost mode), warmflow:B (budget B × fixed:10)',
      'fixed:10,hybrid,warmflow,warmflow:1',
    )
    .option('--until <minute>', 'count only minutes t < MINUTE (the simulation is the same)')
    .option('--prices <file>', 'price table JSON (cpu_core_hour, memory_gib_hour) for the cost')
    .option(
      '--cold-start-seconds <s>',
      'duration of a cold start',
      String(DEFAULT_COST_MODEL.cold_start_seconds),
    )
    .option(
      '--latency-value <v>',
      'value of one second of latency to a waiting request (price-table currency)',
      String(DEFAULT_COST_MODEL.latency_value_per_second),
    )
    .option('--json', 'print one JSON object keyed by each policy as given')
    .action(async (flags: SimulateFlags) => {
      const costModel: CostModel = {
        ...DEFAULT_COST_MODEL,
        prices:
          flags.prices === undefined ? DEFAULT_COST_MODEL.prices : await loadPrices(flags.prices),
        cold_start_seconds: nonNegative('--cold-start-seconds', flags.coldStartSeconds),
        latency_value_per_second: nonNegative('--latency-value', flags.latencyValue),
      };
      const policies = parsePolicies(flags.policy, costModel);
      const until =
        flags.until === undefined ? undefined : nonNegative('--until', flags.until, true);
      const trace = await loadTrace(flags.invocations, flags.memory);
      const reports = simulate(trace, policies, {
        costModel,
        ...(until === undefined ? {} : { until }),
      });
      const specs = policies.map((p) => p.spec);
      if (flags.json) {
        const out: Record<string, PolicyReport> = {};
        specs.forEach((spec, i) => (out[spec] = reports[i]));
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else process.stdout.write(`${formatReports(specs, reports)}\n`);
    });
}
