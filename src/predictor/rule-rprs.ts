import type { Template } from '../template/types.js';
import type { Rpr } from './rpr.js';

/**
 * The plain rule, for when the predictor cannot run (no profile, or it failed) and as the
 * baseline calibration starts from: one core per function node, a quarter core per I/O
 * node; memory from the record size (room for 64 batches of 1,000 records in flight, at
 * least 0.25 GiB, plus 0.25 GiB of state for keyed nodes); read/write nodes use the store
 * the flow places their type in.
 */
export function ruleRprs(template: Template, avgRecordBytes = 200): Rpr[] {
  const inFlight = (64 * 1000 * Math.max(avgRecordBytes, 50) * 4) / 2 ** 30;
  return template.nodes.map((node): Rpr => {
    const fn = node.kind === 'function';
    const keyed = fn && node.key !== undefined;
    const memory = Math.round((Math.max(0.25, inFlight) + (keyed ? 0.25 : 0)) * 100) / 100;
    return {
      node_id: node.id,
      resource_type: 'CPU',
      cpu_cores: fn ? 1 : 0.25,
      memory_gb: memory,
      gpu_enabled: false,
      data_store_instance: node.data_store ?? null,
      reasoning: {
        basis: 'rule',
        per_record: { cpu_us: 0, bytes: avgRecordBytes },
        notes: [`rule: ${fn ? 1 : 0.25} core, ${memory} GiB from ${avgRecordBytes}-byte records`],
      },
    };
  });
}
