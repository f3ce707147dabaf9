import { detectMachineCapacity } from '../../provision/local/machine-capacity.js';
import { spinnerAllowed } from '../spinner.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import ora from 'ora';
import { WarmflowError } from '../../errors.js';
import { openHistory } from '../../history/open-history.js';
import type { HistoryStore } from '../../history/history-store.js';
import { readSample } from '../../sources/read-sample.js';
import { loadPrices } from '../../predictor/cost/price-table.js';
import { formatPrediction } from '../../predictor/explain/format-prediction.js';
import { predict } from '../../predictor/predict.js';
import type { PredictionResult, PredictOptions } from '../../predictor/prediction.js';
import type { EngineCalibration } from '../../predictor/calibration/engine-calibration.js';
import { profile } from '../../profiler/profile.js';
import type { Dcp } from '../../profiler/dcp.js';
import { loadFlow, type LoadedFlow } from '../../template/load-flow.js';
import { calibrateOnEngine } from '../../flow/calibrate-on-engine.js';
import { calibrationSamples } from '../../flow/samples.js';
import { planGroups } from '../../execute/plan.js';
import { LocalProvider } from '../../provision/local/local-provider.js';

interface PredictFlags {
  profile?: string;
  input?: string;
  timeField?: string;
  history?: string | false;
  calibrate: boolean;
  engine: boolean;
  sample: string;
  prices?: string;
  gpus?: string;
  tenant?: string;
  targetUtilisation: string;
  coreStep: string;
  json?: boolean;
}

/**
 * `warmflow predict FLOW (--profile DCP.json | --input SOURCE)`: one RPR per node and
 * why. Without either, the flow's own stream source is profiled.
 */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description(
      'predict per-node resources (RPRs) from a data profile, calibration and run history',
    )
    .argument('<flow>', 'flow file (.yaml, or a .ts/.js module exporting defineFlow(...))')
    .option('--profile <dcp.json>', 'a DCP written by `warmflow profile --json`')
    .option(
      '--input <source>',
      'profile this source first (JSONL, CSV, JSON array, .gz) and calibrate on it',
    )
    .option('--time-field <field>', 'event-time field for the rate, when profiling --input')
    .option(
      '--history <url>',
      'history: postgres://… or a SQLite file (default: the embedded one under WARMFLOW_HOME)',
    )
    .option('--no-history', 'ignore past runs')
    .option('--no-calibrate', 'do not run the functions on a sample (history and defaults only)')
    .option(
      '--no-engine',
      'calibrate each function in its sandbox only, without running the sample through the flow on local workers',
    )
    .option('--sample <n>', 'records per function for calibration', '2000')
    .option(
      '--prices <file>',
      'JSON price table: {cpu_core_hour, memory_gib_hour, gpu_hour, currency}',
    )
    .option('--gpus <n>', "GPUs the provider offers (default: this machine's)")
    .option('--tenant <tenant>', 'learn only from this tenant’s runs')
    .option('--target-utilisation <u>', 'CPU share a node may keep busy, in (0, 1]', '0.7')
    .option('--core-step <step>', 'smallest core step the provider allocates (1 or 0.5)', '1')
    .option('--json', 'print the array of RPRs (with reasoning) as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 prediction failed (e.g. a required GPU is missing), 2 invalid input.',
    )
    .action(async (file: string, flags: PredictFlags) => {
      if (flags.profile !== undefined && flags.input !== undefined) {
        throw new WarmflowError('E_INVALID_ARGUMENTS', '--profile and --input cannot be combined', {
          hint: 'give a ready profile with --profile, or a source to profile with --input',
        });
      }
      const spinner = !flags.json && spinnerAllowed() ? ora({ stream: process.stderr }) : null;
      const flow = await loadFlow(file);
      spinner?.start('profiling');
      let history: HistoryStore | undefined;
      try {
        const { dcp, sampleFrom } = await loadProfile(flow, flags);
        const options: PredictOptions = {
          flow,
          dcp,
          // Sized as `warmflow run` places them: one resource per connected group.
          groups: planGroups(flow.template),
          gpus:
            flags.gpus === undefined
              ? (await detectMachineCapacity()).gpus
              : number(flags.gpus, '--gpus', 0),
          targetUtilisation: number(flags.targetUtilisation, '--target-utilisation', 0.01),
          coreStep: number(flags.coreStep, '--core-step', 0.01),
        };
        const sample = number(flags.sample, '--sample', 1);
        if (!flags.calibrate) options.calibrate = false;
        else if (sampleFrom !== undefined) {
          options.calibrate = { sample: await readSample(sampleFrom, sample), sampleSize: sample };
        } else options.calibrate = { sampleSize: sample };
        if (flags.prices !== undefined) options.prices = await loadPrices(flags.prices);
        if (flags.tenant !== undefined) options.tenant = flags.tenant;
        if (flags.history !== false) {
          history = await openHistory(flags.history);
          options.history = history;
        }
        let engineSkipped: string | undefined;
        if (flags.calibrate && flags.engine) {
          spinner?.start('calibrating the flow on the engine');
          const engine = await engineCalibration(flow, options.groups!, sampleFrom, sample);
          if ('calibration' in engine) options.engineCalibration = engine.calibration;
          else engineSkipped = engine.skipped;
        }
        spinner?.start(flags.calibrate ? 'calibrating functions on the sample' : 'predicting');
        const result = await predict(options);
        spinner?.stop();
        // Warnings go to stderr (one JSON object a line with --json), so stdout stays the RPRs.
        for (const warning of predictionWarnings(result, flags.calibrate, engineSkipped))
          process.stderr.write(
            flags.json
              ? JSON.stringify({
                  warning: warning.kind,
                  node_id: warning.node_id,
                  message: warning.message,
                }) + '\n'
              : `warning: ${warning.message}\n`,
          );
        process.stdout.write(
          flags.json ? JSON.stringify(result.rprs, null, 2) + '\n' : formatPrediction(result),
        );
      } finally {
        spinner?.stop();
        await history?.close();
      }
    });
}

/** A prediction made without what it asked for: calibration that could not run. */
export interface PredictionWarning {
  kind: 'engine_calibration_skipped' | 'not_calibrated' | 'calibration_all_failed';
  node_id?: string;
  message: string;
}

/**
 * What the user must know before trusting the RPRs: engine calibration that could not run,
 * functions the sandbox could not calibrate (sized from defaults), and functions that threw on
 * every sample record (measured, but on failing calls, not real work).
 */
export function predictionWarnings(
  result: PredictionResult,
  calibrate: boolean,
  engineSkipped: string | undefined,
): PredictionWarning[] {
  const warnings: PredictionWarning[] = [];
  if (engineSkipped !== undefined)
    warnings.push({
      kind: 'engine_calibration_skipped',
      message: `engine calibration could not run (${engineSkipped}); the RPRs rest on the sandbox calibration, history and defaults only`,
    });
  if (!calibrate) return warnings;
  for (const node of result.nodes) {
    if (node.kind !== 'function') continue;
    const { model } = node;
    const why = model.notes.find((n) => n.startsWith('not calibrated: '));
    if (why !== undefined)
      warnings.push({
        kind: 'not_calibrated',
        node_id: node.node_id,
        message: `function "${node.node_id}" could not be calibrated (${why.slice('not calibrated: '.length)}); it is sized from ${model.basis === 'history' ? 'history' : 'defaults'}`,
      });
    else if (
      model.calibration !== undefined &&
      model.calibration.records > 0 &&
      model.calibration.errors >= model.calibration.records
    )
      warnings.push({
        kind: 'calibration_all_failed',
        node_id: node.node_id,
        message: `function "${node.node_id}" threw on all ${model.calibration.records} sample records: its measured cost and selectivity are those of failing calls; fix the function (a run would dead-letter its input) before trusting its RPR`,
      });
  }
  return warnings;
}

/**
 * Runs the sample through the flow on local workers, as `warmflow run` does before it
 * predicts; the sample is `--input`'s (for every stream) or each stream's own source.
 */
async function engineCalibration(
  flow: LoadedFlow,
  groups: string[][],
  sampleFrom: string | undefined,
  size: number,
): Promise<{ calibration: EngineCalibration } | { skipped: string }> {
  const provider = new LocalProvider();
  try {
    const sources: { stream: string; input: string }[] = [];
    for (const [name, stream] of Object.entries(flow.spec.streams ?? {})) {
      const from =
        sampleFrom ??
        (stream.source === undefined ? undefined : path.resolve(flow.dir, stream.source));
      if (from !== undefined) sources.push({ stream: name, input: from });
    }
    const { samples, inputBytes, unreadable } = await calibrationSamples(sources, size);
    const [stream, why] = Object.entries(unreadable)[0] ?? [];
    if (stream !== undefined) return { skipped: `no sample of stream "${stream}": ${why}` };
    return {
      calibration: await calibrateOnEngine(flow, { samples, groups, provider, inputBytes }),
    };
  } catch (error) {
    return { skipped: (error as Error).message };
  } finally {
    await provider.close();
  }
}

async function loadProfile(
  flow: LoadedFlow,
  flags: PredictFlags,
): Promise<{ dcp: Dcp; sampleFrom?: string }> {
  const profileOptions = flags.timeField === undefined ? {} : { timeField: flags.timeField };
  if (flags.profile !== undefined) {
    let dcp: Dcp;
    try {
      dcp = JSON.parse(await readFile(flags.profile, 'utf8')) as Dcp;
    } catch (error) {
      throw new WarmflowError(
        'E_INVALID_PROFILE',
        `cannot read the profile ${flags.profile}: ${(error as Error).message}`,
        {
          hint: 'write one with `warmflow profile SOURCE --json > dcp.json`',
        },
      );
    }
    if (
      typeof dcp?.volume?.records_per_second !== 'number' ||
      typeof dcp.cardinality !== 'object'
    ) {
      throw new WarmflowError(
        'E_INVALID_PROFILE',
        `${flags.profile} is not a DCP (no volume.records_per_second or cardinality)`,
        {
          hint: 'write one with `warmflow profile SOURCE --json > dcp.json`',
        },
      );
    }
    return { dcp };
  }
  if (flags.input !== undefined)
    return { dcp: await profile(flags.input, profileOptions), sampleFrom: flags.input };
  const stream = Object.values(flow.spec.streams ?? {}).find((s) => s.source !== undefined);
  if (stream?.source === undefined) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      'predict needs a profile: give --profile DCP.json or --input SOURCE',
      {
        hint: `warmflow predict ${path.relative(process.cwd(), flow.file)} --input data.jsonl`,
      },
    );
  }
  // The flow's own stream source: calibration reads every stream's source itself.
  return { dcp: await profile(path.resolve(flow.dir, stream.source), profileOptions) };
}

function number(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    throw new WarmflowError(
      'E_INVALID_ARGUMENTS',
      `${flag} must be a number ≥ ${min}, got "${value}"`,
    );
  }
  return n;
}
