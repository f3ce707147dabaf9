import { readFile } from 'node:fs/promises';
import { spinnerAllowed } from '../spinner.js';
import path from 'node:path';
import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { formatRunReport } from '../../flow/format-run.js';
import { runFlow, type RunFlowOptions, type RunFlowResult } from '../../flow/run-flow.js';
import type { LiveResize } from '../../execute/live-resizer.js';
import { parseInputs } from '../../execute/sources.js';
import { openHistory } from '../../history/open-history.js';
import type { StoreKind, StoreSpec } from '../../template/types.js';
import type { CompletionStatus } from '../../execute/completion-status.js';
import { EXIT } from '../main.js';
import { LocalProvider } from '../../provision/local/local-provider.js';
import { resumeExecution } from '../../execute/resume.js';
import { formatStatus } from '../../flow/format-run.js';
import { callServer, serverTarget, type ServerTarget } from '../remote.js';
import { serverPools } from './pool.js';
import { parseDuration } from '../../sources/live/live-url.js';

const KINDS: StoreKind[] = ['memory', 'sqlite', 'redis', 'postgres', 'nats', 'redis-stream'];

/** Parses `--store-override NAME=KIND[:LOCATION]` (sqlite path or redis/postgres URL). */
export function parseStoreOverride(
  value: string,
  previous: Record<string, StoreSpec> = {},
): Record<string, StoreSpec> {
  const match = /^([^=]+)=([a-z-]+)(?::(.+))?$/.exec(value);
  const kind = match?.[2] as StoreKind | undefined;
  if (match === null || kind === undefined || !KINDS.includes(kind)) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `--store-override ${value}: expected NAME=KIND[:LOCATION]`,
      {
        hint: 'e.g. --store-override warehouse=postgres:postgres://postgres@127.0.0.1:5432/test or warehouse=memory',
      },
    );
  }
  const location = match[3];
  const spec: StoreSpec = { kind };
  if (location !== undefined) {
    if (kind === 'sqlite') spec.path = location;
    else spec.url = location;
  }
  return { ...previous, [match[1]]: spec };
}

/** Options shared by `run` and `demo`. */
export interface RunCommandOptions {
  input?: string[];
  rate?: string;
  cold?: boolean;
  out?: string;
  json?: boolean;
  storeOverride?: Record<string, StoreSpec>;
  stateStore?: string;
  tenant?: string;
  history?: boolean;
  server?: string;
  untilIdle?: string;
  maxRecords?: string;
  resize?: boolean;
  resizeMaxCores?: string;
  maxDeadLetterRatio?: string;
  resume?: string;
}

/** `--until-idle` / `--max-records` as the limits of a live run. */
function liveLimits(options: RunCommandOptions): NonNullable<RunFlowOptions['live']> | undefined {
  const limits: NonNullable<RunFlowOptions['live']> = {};
  if (options.untilIdle !== undefined) {
    const ms = parseDuration(options.untilIdle);
    if (ms === undefined || ms <= 0)
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--until-idle ${options.untilIdle}: expected a duration like 10s`,
      );
    limits.until_idle_ms = ms;
  }
  if (options.maxRecords !== undefined) {
    const n = Number(options.maxRecords);
    if (!Number.isInteger(n) || n < 1)
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--max-records ${options.maxRecords}: expected a positive integer`,
      );
    limits.max_records = n;
  }
  if (options.resize === true || options.resizeMaxCores !== undefined) {
    const max = options.resizeMaxCores === undefined ? undefined : Number(options.resizeMaxCores);
    if (max !== undefined && !(Number.isInteger(max) && max >= 1))
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--resize-max-cores ${options.resizeMaxCores}: expected a positive integer`,
      );
    limits.resize = max === undefined ? {} : { max_cores: max };
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/**
 * While a live run executes, SIGINT/SIGTERM drain it (stop reading, finish what is in
 * flight, write, acknowledge, report, exit 0); a second signal exits at once. Returns the
 * signal to pass and the uninstall.
 */
function drainOnSignals(): {
  signal: AbortSignal;
  arm: () => void;
  disarm: () => void;
  readonly armed: boolean;
} {
  const controller = new AbortController();
  let armed = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`${name} again: exiting without draining\n`);
      process.exit(128 + (name === 'SIGINT' ? 2 : 15));
    }
    process.stderr.write(
      `${name}: draining (no new messages; finishing, writing and acknowledging what is in flight)\n`,
    );
    controller.abort();
  };
  return {
    signal: controller.signal,
    get armed() {
      return armed;
    },
    arm: () => {
      if (armed) return;
      armed = true;
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    disarm: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** `--max-dead-letter-ratio` as a share between 0 and 1. */
function deadLetterRatio(options: RunCommandOptions): number | undefined {
  const ratio =
    options.maxDeadLetterRatio === undefined ? undefined : Number(options.maxDeadLetterRatio);
  if (ratio !== undefined && !(ratio >= 0 && ratio <= 1)) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `--max-dead-letter-ratio ${options.maxDeadLetterRatio}: expected a share between 0 and 1`,
    );
  }
  return ratio;
}

/**
 * `run --server`: the same job done by a running `warmflow serve` as the key's tenant:
 * register the flow, pre-provision its warm pool when it has none (unless --cold), submit
 * the execution (which claims from the pool) and wait for its CompletionStatus.
 */
async function runOnServer(
  target: ServerTarget,
  flowFile: string,
  options: RunCommandOptions,
): Promise<void> {
  const inputs = options.input ?? [];
  const refused = [
    options.rate !== undefined && '--rate',
    options.out !== undefined && '--out',
    options.storeOverride !== undefined && '--store-override',
    options.stateStore !== undefined && '--state-store',
    inputs.length > 1 && 'several --input',
    inputs.some((input) => input.includes('=')) && '--input STREAM=FILE',
  ].filter((flag): flag is string => flag !== false);
  if (refused.length > 0) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `${refused.join(', ')} cannot be used with --server`,
      { hint: 'with --server give at most one --input (a file path on the server)' },
    );
  }
  const flow = await callServer(target, 'POST', 'v1/flows', {
    yaml: await readFile(flowFile, 'utf8'),
    query: { file: path.resolve(flowFile) },
  });
  // The execution claims the template's pool as it is (made by `pool up --server` with the
  // user's RPRs, or by an earlier run); only a template without a pool gets one warmed.
  if (options.cold !== true) {
    const template = (flow.template as { name?: string } | undefined)?.name;
    const pools = await serverPools(target);
    if (!pools.some((p) => p.template === template && p.given_up === undefined))
      await callServer(target, 'POST', 'v1/pools', { json: { flow_id: flow.id } });
  }
  const input = options.input?.[0];
  const ratio = deadLetterRatio(options);
  const record = await callServer(target, 'POST', 'v1/executions', {
    json: {
      flow_id: flow.id,
      ...(input !== undefined ? { source: path.resolve(input) } : {}),
      ...(ratio !== undefined ? { max_dead_letter_ratio: ratio } : {}),
      ...(options.cold === true ? { cold: true } : {}),
    },
    query: { wait: 'true' },
  });
  const status = record.completion as CompletionStatus | null;
  if (options.json) process.stdout.write(JSON.stringify(status ?? record, null, 2) + '\n');
  else if (status === null) {
    const error = record.error as { message?: string } | undefined;
    process.stdout.write(
      `execution ${String(record.id)} could not run: ${error?.message ?? 'unknown reason'}\n`,
    );
  } else {
    process.stdout.write(
      `execution ${status.execution_id} on ${target.url}: ${status.outcome.toUpperCase()} (${status.provisioning})\n` +
        `  request -> first output record ${status.timings.request_to_first_record_ms?.toFixed(1) ?? '—'} ms, total ${status.timings.total_ms.toFixed(0)} ms\n` +
        `  records in ${status.records.in}, out ${status.records.out}, dead-lettered ${status.records.dead_lettered}\n` +
        (status.pool_note !== undefined ? `  note: ${status.pool_note}\n` : '') +
        (status.timings.pool_wait_ms !== undefined
          ? `  waited ${status.timings.pool_wait_ms.toFixed(1)} ms for the warm set (still warming at the request)\n`
          : '') +
        (status.error ? `  error ${status.error.code}: ${status.error.message}\n` : '') +
        `  (--json for the whole CompletionStatus; the dashboard shows it at ${target.url}/)\n`,
    );
  }
  if (status?.outcome !== 'succeeded') process.exitCode = EXIT.failed;
}

/** What an interrupted run had done when the signal came. */
export interface InterruptedRun {
  signal: string;
  /** The stage running when the signal came (`profiling`, `calibrating`, `executing`, …). */
  during: string;
  elapsed_ms: number;
  /** Stages finished before it, with how long each took. */
  done: Array<{ stage: string; ms: number }>;
  out_dir: string;
  recorded_in_history: false;
}

/** The pipeline's stages as the run enters them, for the report of an interrupted run. */
export class StageClock {
  readonly #started = performance.now();
  #stages: Array<{ stage: string; at: number }> = [];

  enter(stage: string): void {
    if (stage === 'live' || this.#stages.at(-1)?.stage === stage) return;
    this.#stages.push({ stage, at: performance.now() });
  }

  interrupted(signal: string, outDir: string): InterruptedRun {
    const now = performance.now();
    const done = this.#stages.slice(0, -1).map((s, i) => ({
      stage: s.stage,
      ms: Math.round(this.#stages[i + 1].at - s.at),
    }));
    return {
      signal,
      during: this.#stages.at(-1)?.stage ?? 'loading the flow',
      elapsed_ms: Math.round(now - this.#started),
      done,
      out_dir: outDir,
      recorded_in_history: false,
    };
  }
}

/** The text an interrupted run prints on stderr. */
export function formatInterrupted(run: InterruptedRun): string {
  const done =
    run.done.length === 0
      ? 'nothing yet'
      : run.done.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)} s`).join(', ');
  return (
    `${run.signal}: interrupted during ${run.during}, ${(run.elapsed_ms / 1000).toFixed(1)} s after the start\n` +
    `  done: ${done}\n` +
    `  the run did not finish: ` +
    (run.done.some((s) => s.stage === 'executing') || run.during === 'executing'
      ? `outputs under ${run.out_dir} may be partial; `
      : 'no output was written; ') +
    `it was not recorded in history.\n`
  );
}

/** Runs a flow for `run`/`demo`, prints the report or the CompletionStatus JSON, sets the exit code. */
export async function runAndReport(
  flowFile: string,
  options: RunCommandOptions,
): Promise<RunFlowResult | undefined> {
  const target = serverTarget(options.server);
  if (target !== undefined) {
    await runOnServer(target, flowFile, options);
    return undefined;
  }
  const rate = options.rate === undefined ? undefined : Number(options.rate);
  if (rate !== undefined && !(rate > 0)) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `--rate ${options.rate}: expected records per second > 0`,
    );
  }
  const ratio = deadLetterRatio(options);
  const progress =
    !options.json && spinnerAllowed()
      ? (await import('ora')).default({ stream: process.stderr })
      : null;
  const history =
    options.history === false ? undefined : await openHistory().catch(() => undefined);
  const limits = liveLimits(options);
  const drain = drainOnSignals();
  const stages = new StageClock();
  const outDir = options.out ?? './out/<flow name>';
  // Before a live run drains (and for every file run), a signal ends the run: say what was done.
  const onInterrupt = (name: NodeJS.Signals) => {
    if (drain.armed) return;
    progress?.stop();
    const report = stages.interrupted(name, outDir);
    if (options.json) process.stdout.write(JSON.stringify({ interrupted: report }, null, 2) + '\n');
    process.stderr.write(formatInterrupted(report));
    process.exit(128 + (name === 'SIGINT' ? 2 : 15));
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  const runOptions: RunFlowOptions = {
    ...(limits !== undefined ? { live: limits } : {}),
    signal: drain.signal,
    inputs: parseInputs(options.input ?? []),
    cold: options.cold === true,
    ...(rate !== undefined ? { rate } : {}),
    ...(ratio !== undefined ? { maxDeadLetterRatio: ratio } : {}),
    ...(options.out !== undefined ? { outDir: options.out } : {}),
    ...(options.storeOverride !== undefined ? { stores: options.storeOverride } : {}),
    ...(options.stateStore !== undefined ? { stateStore: options.stateStore } : {}),
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    ...(history !== undefined ? { history } : {}),
    onEvent: (event, detail) => {
      if (event === 'checkpointing') {
        const id = String(detail?.execution_id);
        if (detail?.resumable === false) return;
        process.stderr.write(
          `execution ${id} is checkpointed; if this process dies, continue it with: warmflow run --resume ${id}\n`,
        );
        return;
      }
      if (event === 'checkpoint') return;
      if (event === 'resized') {
        const r = detail as unknown as LiveResize;
        process.stderr.write(
          r.error !== undefined
            ? `resize ${r.from.cpu_cores} -> ${r.to.cpu_cores} cores not done: ${r.error}\n`
            : `resized ${r.from.cpu_cores} -> ${r.to.cpu_cores} cores (forecast ${r.forecast_records_per_second} records/s, lag ${r.lag}; warm in ${r.warm_ms} ms${r.prewarmed_ms !== undefined ? `, started ${r.prewarmed_ms} ms before the decision` : ''}, ${r.pause_ms} ms pause)\n`,
        );
        return;
      }
      stages.enter(event);
      // Only a live run drains on a signal; before it executes, a signal ends the process.
      if (event === 'executing' && detail?.live === true) drain.arm();
      if (progress === null) return;
      if (event === 'finished') progress.stop();
      else progress.start(event);
    },
  };
  try {
    const result = await runFlow(flowFile, runOptions);
    if (options.json) process.stdout.write(JSON.stringify(result.status, null, 2) + '\n');
    else process.stdout.write(formatRunReport(result));
    if (result.status.outcome !== 'succeeded') process.exitCode = EXIT.failed;
    return result;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    drain.disarm();
    progress?.stop();
    await history?.close();
  }
}

/** Adds the options `run` and `demo` share. */
export function withRunOptions(command: Command): Command {
  return command
    .option('--rate <R>', 'replay the input at R records per second, as a live stream would arrive')
    .option('--cold', 'no warm pool: provision on demand after the request (for comparison)')
    .option(
      '--max-dead-letter-ratio <R>',
      "fail the run when a node dead-letters more than this share of its input (default: the flow's max_dead_letter_ratio, else 0.5)",
    )
    .option('--out <DIR>', 'folder of JSONL sinks and dead-letters.jsonl (default ./out/<flow>)')
    .option('--json', 'print the CompletionStatus as JSON (stdout only JSON)')
    .option(
      '--store-override <NAME=KIND[:LOCATION]>',
      'replace or add a store of the flow (repeatable)',
      parseStoreOverride,
    )
    .option('--state-store <NAME>', "keep every keyed function's state in this store")
    .option('--tenant <NAME>', 'tenant whose pool and history are used', 'default')
    .option(
      '--until-idle <DURATION>',
      'live streams: end once no message arrived for this long (e.g. 10s); default: run until SIGINT/SIGTERM',
    )
    .option('--max-records <N>', 'live streams: end after N messages')
    .option(
      '--resize',
      'live streams: resize the run while it runs, ahead of its forecast rate (a warm resource of the new size, moved onto at a commit; docs/policy.md)',
    )
    .option(
      '--resize-max-cores <N>',
      'with --resize: never more than N cores (default 4× the start)',
    )
    .option('--no-history', 'neither learn from nor record into the history database')
    .option(
      '--server <url>',
      'run on a running `warmflow serve` (tenant key from WARMFLOW_API_KEY)',
      process.env.WARMFLOW_SERVER,
    );
}

/**
 * `warmflow run FLOW --input SOURCE`: profile, predict, pre-provision the warm pool, then
 * execute the request from it; exits 1 only when the run failed.
 */
export function registerRun(program: Command): void {
  withRunOptions(
    program
      .command('run')
      .description(
        'run a flow: profile its input, predict per-node resources, warm them, execute, report',
      )
      .argument('[flow]', 'flow file (.yaml, or a .ts/.js defineFlow module)')
      .option(
        '--resume <RUN_ID>',
        'continue a checkpointed run whose process died (kill -9) from its last checkpoint, with the flow, inputs, stores and output folder it was started with',
      )
      .option(
        '--input <SOURCE>',
        "input file (.jsonl, .csv, .json, .gz), - for stdin, or a live stream URL (nats://HOST:PORT/STREAM?…, redis://HOST:PORT/DB?stream=KEY); STREAM=SOURCE for flows with several streams (repeatable; default: the flow's sources)",
        (v: string, prev: string[] = []) => [...prev, v],
      ),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 succeeded, 1 the run failed (status says where), 2 invalid flow or flags.',
    )
    .action(async (flow: string | undefined, options: RunCommandOptions) => {
      if (options.resume !== undefined) {
        if (flow !== undefined)
          throw new WarmflowError(
            'E_INVALID_ARGUMENTS',
            '--resume takes no flow: the run continues with the flow it was started with',
          );
        return resumeAndReport(options.resume, options);
      }
      if (flow === undefined)
        throw new WarmflowError('E_INVALID_ARGUMENTS', 'missing the flow file', {
          hint: 'warmflow run FLOW [--input SOURCE]..., or warmflow run --resume RUN_ID',
        });
      await runAndReport(flow, options);
    });
}

/** `warmflow run --resume RUN_ID`: continues a checkpointed run on on-demand resources. */
async function resumeAndReport(executionId: string, options: RunCommandOptions): Promise<void> {
  const provider = new LocalProvider();
  try {
    const status = await resumeExecution(executionId, {
      provider,
      cold: true,
      onEvent: (event, detail) => {
        if (event === 'recovered')
          process.stderr.write(`recovered on ${String(detail?.resource_id)}\n`);
      },
    });
    if (options.json) process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    else process.stdout.write(formatStatus(status));
    if (status.outcome !== 'succeeded') process.exitCode = EXIT.failed;
  } finally {
    await provider.close();
  }
}
