import type { Dcp } from '../profiler/dcp.js';
import type { TemplateNode } from '../template/types.js';
import type { NodeHistory } from './learning/history-context.js';
import { keyCardinality } from './learning/key-cardinality.js';
import {
  cpuUsPerRecord,
  cpuUsPerRecordOverRun,
  peakMemoryBytes,
  type FunctionModel,
} from './model/function-model.js';
import {
  coresNeeded,
  provisionMemoryGb,
  roundUpTo,
  toGb,
  type SizingPolicy,
} from './model/sizing.js';
import { chooseStore, formatBytes, type PlacementPolicy } from './placement/choose-store.js';
import type { PredictorFlow } from './flow-view.js';
import type { NodePrediction } from './prediction.js';
import type { NodeRates } from './rates/dag-rates.js';

/** What {@link sizeNode} needs besides the node. */
export interface SizeContext {
  flow: PredictorFlow;
  dcp: Dcp;
  /** Source rate of the profile (records/s), to scale run lengths by. */
  sourceRate: number;
  sizing: SizingPolicy;
  placement: PlacementPolicy;
  bufferedRecords: number;
  /** Nodes on this node's resource (1: alone). */
  groupSize?: number;
}

/**
 * Sizes one node: CPU from its rate and per-record cost, memory from its model and
 * load, the store its state or I/O uses, and the floors history imposes (the last run's
 * real usage, OOM kills). GPU and cost are decided later, over all nodes.
 */
export function sizeNode(
  node: TemplateNode,
  rates: NodeRates,
  model: FunctionModel,
  history: NodeHistory | undefined,
  ctx: SizeContext,
): NodePrediction {
  const notes = [...model.notes];
  const fn = ctx.flow.functions.find((f) => f.name === node.id);
  const rate = rates.input_rate;
  const size = rates.input_record_size;
  const cpuUs = cpuUsPerRecord(model, size);
  const needed = coresNeeded(rate, cpuUs, ctx.sizing.targetUtilisation);
  let cores = roundUpTo(needed, ctx.sizing.coreStep);

  // Records over the run: the profiled volume scaled by this node's share of the source rate.
  const runRecords =
    ctx.sourceRate > 0 ? ctx.dcp.volume.records * (rate / ctx.sourceRate) : ctx.dcp.volume.records;
  let key: NodePrediction['key'];
  if (fn?.key !== undefined) {
    const sample = model.calibration && {
      distinct: model.calibration.distinct_keys,
      sampled: model.calibration.records,
    };
    const past = history?.own.map((o) => ({ records: o.records_in, keys: o.key_cardinality }));
    const found = keyCardinality(ctx.dcp, fn.key, Math.round(runRecords), sample, past);
    key = { field: fn.key, keys: found.keys, source: found.source };
  }
  const cpuRun = cpuUsPerRecordOverRun(model, size, runRecords);
  const load = {
    recordSize: size,
    bufferedRecords: ctx.bufferedRecords,
    keys: key?.keys ?? 0,
    records: runRecords,
  };
  let full = peakMemoryBytes(model, load);
  const k = ctx.groupSize ?? 1;
  if (k > 1 && model.memory_shared !== true) {
    // One runtime serves the whole group: this node carries 1/k of its base.
    const base = full.base / k;
    full = { ...full, base, total: full.total - full.base + base };
    notes.push(
      `shares its resource with ${k - 1} other node${k === 2 ? '' : 's'}: 1/${k} of the runtime base`,
    );
  }
  const placement = chooseStore(
    {
      node,
      explicit: explicitStore(ctx.flow, node.id),
      sink: ctx.flow.spec.sink,
      catalogue: ctx.flow.spec.stores ?? {},
      placedTypes: new Set(
        Object.values(ctx.flow.spec.types ?? {}).flatMap((t) =>
          t.store === undefined ? [] : [t.store],
        ),
      ),
      keyed: key !== undefined,
      keys: key?.keys ?? 0,
      bytesPerKey: model.memory_per_key_bytes,
      accessesPerSecond: key !== undefined ? 2 * rate : rate,
      otherBytes: full.total - full.state,
    },
    ctx.placement,
  );
  // State in a shared store does not live in the node.
  const memory =
    placement.in_process || key === undefined
      ? full
      : { ...full, state: 0, total: full.total - full.state };
  if (!placement.in_process && key !== undefined)
    notes.push(`state (${formatBytes(full.state)}) lives in the store, not the node`);

  const upper = memory.total * (1 + model.mem_rel_error);
  let memoryGb = provisionMemoryGb(upper, ctx.sizing);

  if (history?.oom_memory_gb !== undefined) {
    const floor = roundUpTo(history.oom_memory_gb * 1.5, ctx.sizing.memoryStepGb);
    if (memoryGb < floor) {
      notes.push(
        `raised to ${floor} GiB: a past run was OOM-killed with ${history.oom_memory_gb} GiB`,
      );
      memoryGb = floor;
    }
  }
  const last = history?.last;
  if (last) {
    const lastKeys = last.key_cardinality ?? 0;
    const smallerLoad = key !== undefined && lastKeys > 0 && key.keys < 0.8 * lastKeys;
    const usedGb = roundUpTo(toGb(last.peak_memory_bytes), ctx.sizing.memoryStepGb);
    if (memoryGb < usedGb) {
      if (smallerLoad) {
        notes.push(
          `below the last run's ${usedGb} GiB because this input has ${key!.keys} keys against its ${lastKeys}`,
        );
      } else {
        notes.push(
          `raised to ${usedGb} GiB: the last run (${last.execution_id}) really used that much`,
        );
        memoryGb = usedGb;
      }
    }
    const usedCores = roundUpTo(last.cores_used, ctx.sizing.coreStep);
    if (cores < usedCores) {
      notes.push(
        `raised to ${usedCores} cores: the last run kept ${last.cores_used.toFixed(2)} cores busy`,
      );
      cores = usedCores;
    }
  }

  const rel = model.cpu_rel_error;
  return {
    node_id: node.id,
    kind: node.kind,
    rates,
    model,
    ...(key ? { key } : {}),
    cpu_us_per_record: cpuUs,
    cpu_us_per_record_run: cpuRun,
    run_records: runRecords,
    cores_needed: needed,
    memory,
    rpr: {
      node_id: node.id,
      resource_type: 'CPU',
      cpu_cores: cores,
      memory_gb: memoryGb,
      gpu_enabled: false,
      data_store_instance: placement.data_store_instance,
      reasoning: {
        basis: model.basis,
        history_runs: model.history_runs,
        inputs: inputsOf(rates, key),
        per_record: { cpu_us: round(cpuUs, 3), bytes: round(size, 1) },
        confidence: {
          cpu_cores: [round(needed * Math.max(0, 1 - rel), 3), round(needed * (1 + rel), 3)],
          memory_gb: [
            round(toGb(memory.total * Math.max(0, 1 - model.mem_rel_error)), 3),
            round(toGb(memory.total * (1 + model.mem_rel_error)), 3),
          ],
        },
        estimate: {
          cpu_us_per_record: round(cpuUs, 3),
          cpu_us_per_record_run: round(cpuRun, 3),
          cores_needed: round(needed, 4),
          peak_memory_bytes: Math.round(memory.total),
        },
        data_store_reason: placement.reason,
        notes,
      },
    },
  };
}

function inputsOf(rates: NodeRates, key: NodePrediction['key']): Record<string, number | string> {
  const inputs: Record<string, number | string> = {
    records_per_second: round(rates.input_rate, 2),
    avg_record_size: round(rates.input_record_size, 1),
  };
  if (rates.read_mode) inputs.read_mode = rates.read_mode;
  if (key) {
    inputs.key = key.field;
    inputs.key_cardinality = key.keys;
    inputs.key_cardinality_source = key.source;
  }
  return inputs;
}

function explicitStore(flow: PredictorFlow, nodeId: string): string | undefined {
  const spec = flow.spec.functions.find((f) => f.name === nodeId) as
    { store?: unknown } | undefined;
  return typeof spec?.store === 'string' ? spec.store : undefined;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
