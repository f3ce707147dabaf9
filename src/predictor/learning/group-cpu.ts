import {
  cpuUsPerRecord,
  cpuUsPerRecordOverRun,
  type FunctionModel,
} from '../model/function-model.js';
import type { FunctionObservation } from './past-runs.js';
import { blendCpuWithPrior, priorCpuMiss } from './refine-model.js';
import { decayWeights, huberLine, relativeSpread, weightedMedian } from './robust-fit.js';

/** One function node of a co-located group, as {@link learnGroupCpu} needs it. */
export interface GroupMember {
  id: string;
  /** The node's model, refined from its own history (changed in place). */
  model: FunctionModel;
  /** What calibration (or the defaults) said before history refined it. */
  prior: FunctionModel;
  /** The node's own past runs, newest first. */
  own: readonly FunctionObservation[];
  /** Records the node gets in the run being predicted, and their size. */
  runRecords: number;
  recordSize: number;
}

/**
 * Learns the CPU of the function nodes the engine runs on one resource from their past
 * runs taken together, then gives each node its share.
 *
 * A resource's CPU is measured as a whole; its split over co-located nodes is attributed,
 * and in a short run a few lumps (a scavenge of a 64 MiB young generation, a function
 * optimised late) land on whichever node was running: per node, five short runs scatter
 * by ±50 % where the group's total stays within a few per cent. The group's total also
 * does not grow linearly with run length: besides a one-off start-up cost, code runs in
 * slower tiers until the JIT's optimised versions arrive (later on a loaded machine), so
 * warm-up is spread over many records. Hence:
 *
 * - total CPU against records is a power law, fitted robustly in log space (Huber line of
 *   log CPU on log records, recent runs weighted more), read at this run's length;
 * - each node's share is pooled over the runs (its CPU over all of them against the
 *   group's), which the long runs dominate;
 * - the node's model is that power law's tangent at this run's length (warm µs per record
 *   = exponent × CPU per record, the rest a one-off cost), so the per-record cost over
 *   this run is the law's, and then blended in log space with the calibration by inverse
 *   variance, as a single node's history is, the calibration's variance widened by how
 *   far its sum over the group missed the group's measured runs.
 *
 * Needs three runs that all the group's nodes took part in; returns whether it applied.
 */
export function learnGroupCpu(members: readonly GroupMember[], halfLife = 5): boolean {
  if (members.length < 2) return false;
  const runs = members[0].own
    .map((o) => o.execution_id)
    .filter((id) => members.every((m) => m.own.some((o) => o.execution_id === id)));
  if (runs.length < 3) return false;
  const totalOf = (m: GroupMember, run: string) => {
    const o = m.own.find((x) => x.execution_id === run)!;
    return { cpu: o.cpu_us_per_record * o.records_in, records: o.records_in };
  };
  const cpu = runs.map((r) => members.reduce((t, m) => t + totalOf(m, r).cpu, 0));
  const records = runs.map((r) => members.reduce((t, m) => t + totalOf(m, r).records, 0));
  if (cpu.some((c) => !(c > 0)) || records.some((n) => !(n > 0))) return false;
  const ws = decayWeights(runs.length, halfLife);
  const target = members.reduce((t, m) => t + m.runRecords, 0);
  if (!(target > 0)) return false;

  let exponent = 1;
  let logCpu: number;
  let fitScale: number;
  const logCpus = cpu.map(Math.log);
  if (relativeSpread(records) >= 0.2) {
    const fit = huberLine(records.map(Math.log), logCpus, ws);
    // Costs grow with length, and at most a little faster than it (state growing with keys).
    exponent = Math.min(1.5, Math.max(0.3, fit.b));
    const at = weightedMedian(
      logCpus.map((y, i) => y - exponent * Math.log(records[i])),
      ws,
    );
    logCpu = at + exponent * Math.log(target);
    fitScale = Math.max(fit.scale, 0.02);
  } else {
    const perRecord = cpu.map((c, i) => Math.log(c / records[i]));
    logCpu = weightedMedian(perRecord, ws) + Math.log(target);
    fitScale = Math.max(0.02, 1.4826 * weightedMedian(perRecord.map(Math.abs), ws));
  }
  const total = Math.exp(logCpu);
  const sumWeighted = (xs: number[]) => xs.reduce((t, x, i) => t + x * ws[i], 0);
  const groupCpu = sumWeighted(cpu);
  // How far the priors, summed over the group, lay from what the group measured: checked
  // on the whole group, whose total is measured, not on its attributed split.
  const priorTotals = runs.map((r) =>
    members.reduce((t, m) => {
      const o = m.own.find((x) => x.execution_id === r)!;
      return t + cpuUsPerRecordOverRun(m.prior, o.avg_record_size, o.records_in) * o.records_in;
    }, 0),
  );
  const priorMiss = priorCpuMiss(cpu, priorTotals, ws);
  for (const m of members) {
    const mine = runs.map((r) => totalOf(m, r).cpu);
    const share = sumWeighted(mine) / groupCpu;
    if (!(share > 0)) continue;
    // How far a run's share lies from the pooled one: the split's own noise.
    const shareScale =
      1.4826 *
      weightedMedian(
        mine.map((c, i) => Math.abs(Math.log(Math.max(1e-9, c / cpu[i]) / share))),
        ws,
      );
    const nodeCpu = total * share;
    const warm = (nodeCpu / m.runRecords) * Math.min(1, exponent);
    // A node's own runs can put all its CPU in the one-off cost (its warm cost fitted at 0);
    // it still gets its share of the group's warm cost, in the prior's shape.
    if (!(cpuUsPerRecord(m.model, m.recordSize) > 0)) {
      const shaped = cpuUsPerRecord(m.prior, m.recordSize) > 0;
      m.model.cpu_us_base = shaped ? m.prior.cpu_us_base : 1;
      m.model.cpu_us_per_byte = shaped ? m.prior.cpu_us_per_byte : 0;
    }
    const before = cpuUsPerRecord(m.model, m.recordSize);
    const factor = before > 0 ? warm / before : 0;
    if (!(factor > 0)) continue;
    m.model.cpu_us_base *= factor;
    m.model.cpu_us_per_byte *= factor;
    m.model.cpu_fixed_us = Math.max(0, nodeCpu - warm * m.runRecords);
    m.model.cpu_rel_error =
      Math.sqrt(fitScale ** 2 + shareScale ** 2 / runs.length) * (1 + 1 / runs.length);
    m.model.notes.push(
      `CPU learned with its resource's ${members.length} function nodes: their total over ${runs.length} runs as a power law of records (exponent ${Math.round(exponent * 100) / 100}), its share ${Math.round(share * 1000) / 10} % pooled over the runs`,
    );
    if (m.prior.basis !== 'calibration') continue;
    if (priorMiss >= 0.1)
      m.model.notes.push(
        `the ${m.prior.basis} missed the group's past runs by ${Math.round((Math.exp(priorMiss) - 1) * 100)} %: it counts that much less`,
      );
    blendCpuWithPrior(m.model, m.prior, [m.recordSize], [1], priorMiss);
  }
  return true;
}
