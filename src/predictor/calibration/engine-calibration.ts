import type { Template } from '../../template/types.js';
import { cpuUsPerRecord, peakMemoryBytes, type FunctionModel } from '../model/function-model.js';

/**
 * What a short run of the whole flow on the real engine measured (see
 * `calibrateOnEngine` in src/flow): the sample replayed through the flow on a
 * resource like the ones the real run gets — same threads, batching, exchanges, stores
 * of the same kinds — once cold and then warm. The sandbox measures each function alone;
 * this measures what the engine adds around them (the runtime of a multi-threaded
 * resource, keyed partitioning, store lookups), which the sandbox cannot see.
 */
export interface EngineCalibration {
  /** Warm passes measured (after one cold pass). */
  warm_passes: number;
  /** Records per pass, per stream. */
  records_per_pass: Record<string, number>;
  nodes: Record<
    string,
    {
      records_in: number;
      records_out: number;
      /** CPU µs per record over the warm passes (the resource's CPU apportioned by busy time). */
      warm_cpu_us_per_record: number;
      /** Extra CPU µs of the cold pass over a warm one: JIT, module initialisation. */
      cold_extra_cpu_us: number;
      /** Distinct keys in state after a pass (keyed functions). */
      keys: number;
    }
  >;
  /**
   * Source records per second the warm passes went through the flow, from the first record
   * deployed to the last written (wall time): what a file replayed as fast as possible sees.
   */
  warm_records_per_second?: number;
  /** One per resource: its nodes, threads and peak RSS over the passes. */
  groups: Array<{ node_ids: string[]; threads: number; peak_rss_bytes: number }>;
}

/** The engine's runtime is at least this share of a resource's measured peak. */
const MIN_BASE_SHARE = 0.25;

/**
 * Corrects models (sandbox-calibrated, or defaults) with an engine calibration:
 *
 * - CPU: the model keeps its shape in record size and is scaled to the engine's warm µs
 *   per record at the sample's size; the cold pass's extra CPU is the one-off cost.
 * - Memory: a resource's measured peak, less what the sample's state, retained records and
 *   buffers account for under the models, is the runtime's base (the process, one V8
 *   isolate per thread, their young generations). It is split evenly over the resource's
 *   nodes (`memory_shared`), so a prediction adds the state of the real key count to it.
 */
export function applyEngineCalibration(
  models: Map<string, FunctionModel>,
  calibration: EngineCalibration,
  template: Template,
  options: { bufferedRecords: number; recordSize: (nodeId: string) => number },
): void {
  for (const [id, measured] of Object.entries(calibration.nodes)) {
    const model = models.get(id);
    const node = template.nodes.find((n) => n.id === id);
    if (model === undefined || node?.kind !== 'function' || measured.records_in === 0) continue;
    const size = model.calibration?.avg_record_size ?? options.recordSize(id);
    const before = cpuUsPerRecord(model, size);
    // A sandbox-calibrated shape in record size is kept; default coefficients are not a shape.
    if (model.calibration !== undefined && before > 0) {
      const factor = measured.warm_cpu_us_per_record / before;
      model.cpu_us_base *= factor;
      model.cpu_us_per_byte *= factor;
    } else {
      model.cpu_us_base = measured.warm_cpu_us_per_record;
      model.cpu_us_per_byte = 0;
    }
    model.cpu_fixed_us = measured.cold_extra_cpu_us;
    model.selectivity = measured.records_out / measured.records_in;
    model.cpu_rel_error = Math.min(model.cpu_rel_error, 0.25);
    model.basis = 'calibration';
    model.notes.push(
      `engine calibration: ${round(measured.warm_cpu_us_per_record)} µs/record warm over ${calibration.warm_passes} pass(es) of ${measured.records_in} records on a ${threadsOf(calibration, id)}-thread resource (${model.calibration !== undefined ? 'the sandbox alone measured' : 'default coefficients said'} ${round(before)})`,
    );
  }
  for (const group of calibration.groups) {
    const members = group.node_ids.filter((id) => models.has(id));
    if (members.length === 0 || group.peak_rss_bytes <= 0) continue;
    let accounted = 0;
    for (const id of members) {
      const model = models.get(id)!;
      const m = calibration.nodes[id];
      const parts = peakMemoryBytes(model, {
        recordSize: options.recordSize(id),
        bufferedRecords: options.bufferedRecords,
        keys: m?.keys ?? 0,
        records: m?.records_in ?? 0,
      });
      accounted += parts.buffers + parts.state + parts.retained;
    }
    const base = Math.max(MIN_BASE_SHARE * group.peak_rss_bytes, group.peak_rss_bytes - accounted);
    for (const id of members) {
      const model = models.get(id)!;
      model.memory_base_bytes = base / members.length;
      model.memory_shared = true;
      model.mem_rel_error = Math.min(model.mem_rel_error, 0.2);
      model.notes.push(
        `engine calibration: its resource (${group.threads} thread(s), ${members.length} nodes) peaked at ${mib(group.peak_rss_bytes)} MiB; runtime base ${mib(base)} MiB split over its nodes`,
      );
    }
  }
}

function threadsOf(calibration: EngineCalibration, id: string): number {
  return calibration.groups.find((g) => g.node_ids.includes(id))?.threads ?? 1;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
