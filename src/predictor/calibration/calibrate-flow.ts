import { resolve } from 'node:path';
import type { PredictorFlow } from '../flow-view.js';
import type { FunctionModel } from '../model/function-model.js';
import { topologicalOrder } from '../rates/dag-rates.js';
import { modelFromCalibration } from './model-from-calibration.js';
import { readSample } from '../../sources/read-sample.js';
import { runInSandbox, type CalibrationSandbox } from './sandbox.js';
import type { CalibrateResult, LookupTable } from './sandbox-protocol.js';
import { keyOf } from './sandbox-context.js';

/** Seed rows read per looked-up type, enough for lookups to hit without shipping a whole table. */
const MAX_SEED_ROWS = 50_000;

/** Options of {@link calibrateFlow}. */
export interface CalibrationOptions {
  /** Records given to each function (default 2000). */
  sampleSize?: number;
  /** Records to use instead of reading each stream's `source` (applies to every stream without its own). */
  sample?: unknown[];
  /** Samples per stream name. */
  samples?: Record<string, unknown[]>;
  /** Wall-clock budget of one function's measurement (default 4000 ms); the child is killed at 3×. */
  timeBudgetMs?: number;
  /** CPU ms per size bucket (default 25). */
  minCpuMsPerBucket?: number;
  /** Servers: where and how the children running tenant code run (see `CalibrationSandbox`). */
  sandbox?: CalibrationSandbox;
}

/** What calibration found per function node: a model, or why there is none. */
export type CalibrationOutcome =
  | { node_id: string; model: FunctionModel; result: CalibrateResult }
  | { node_id: string; skipped: string };

/**
 * Calibrates every function of the flow, in topological order, each in its own
 * sandbox child: sources give the profiled sample, and each function's outputs become
 * the sample of the functions that consume its types, so a downstream function is
 * measured on records like the ones it will really get.
 */
export async function calibrateFlow(
  flow: PredictorFlow,
  priorFor: (nodeId: string) => FunctionModel,
  options: CalibrationOptions = {},
): Promise<Map<string, CalibrationOutcome>> {
  const size = options.sampleSize ?? 2000;
  const budget = options.timeBudgetMs ?? 4000;
  const byType = new Map<string, unknown[]>();
  const outcomes = new Map<string, CalibrationOutcome>();
  const functions = new Map(flow.functions.map((f) => [f.name, f]));
  const seeds = new Map<string, LookupTable | null>();

  for (const [name, stream] of Object.entries(flow.spec.streams ?? {})) {
    let records = options.samples?.[name] ?? options.sample;
    if (records === undefined && stream.source !== undefined) {
      records = await readSample(resolve(flow.dir ?? '.', stream.source), size);
    }
    if (records !== undefined) append(byType, stream.type, records.slice(0, size), size);
  }

  for (const id of topologicalOrder(flow.template)) {
    const fn = functions.get(id);
    if (fn === undefined) continue;
    const primary = fn.input[0];
    const records = primary === undefined ? undefined : byType.get(primary);
    if (fn.module === null) {
      outcomes.set(id, { node_id: id, skipped: 'the flow names no module for it' });
      continue;
    }
    if (records === undefined || records.length === 0) {
      outcomes.set(id, { node_id: id, skipped: `no sample of its input type ${primary ?? '?'}` });
      continue;
    }
    try {
      const lookups = await seedLookups(flow, fn.input.slice(1), seeds);
      const result = await runInSandbox(
        {
          kind: 'calibrate',
          module: fn.module,
          export: fn.export ?? fn.name,
          records,
          key: fn.key,
          node: fn.name,
          template: flow.template.name,
          minCpuMsPerBucket: options.minCpuMsPerBucket ?? 25,
          timeBudgetMs: budget,
          maxOutputs: size,
          lookups,
        },
        {
          timeoutMs: budget * 3 + 5000,
          ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
        },
      );
      outcomes.set(id, {
        node_id: id,
        model: modelFromCalibration(result, priorFor(id), fn.key !== undefined),
        result,
      });
      for (const type of fn.output) append(byType, type, result.outputs, size);
    } catch (error) {
      outcomes.set(id, { node_id: id, skipped: (error as Error).message });
    }
  }
  return outcomes;
}

function append(
  byType: Map<string, unknown[]>,
  type: string,
  records: unknown[],
  cap: number,
): void {
  const have = byType.get(type) ?? [];
  byType.set(type, [...have, ...records].slice(0, cap));
}

/**
 * Lookup tables for a function's further input types, from the flow's `seed` files
 * (read once per prediction). A type without a seed or key is left out: its lookups
 * answer undefined.
 */
export async function seedLookups(
  flow: PredictorFlow,
  types: string[],
  cache: Map<string, LookupTable | null>,
): Promise<Record<string, LookupTable>> {
  const out: Record<string, LookupTable> = {};
  for (const type of types) {
    if (!cache.has(type)) {
      const spec = flow.spec.types?.[type];
      let table: LookupTable | null = null;
      if (spec?.seed !== undefined && spec.key !== undefined) {
        const rows: Record<string, unknown> = {};
        for (const row of await readSample(resolve(flow.dir ?? '.', spec.seed), MAX_SEED_ROWS)) {
          const value = keyOf(row, spec.key);
          if (value !== undefined) rows[value] = row;
        }
        table = { key: spec.key, rows };
      }
      cache.set(type, table);
    }
    const table = cache.get(type);
    if (table) out[type] = table;
  }
  return out;
}
