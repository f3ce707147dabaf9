import type { Template } from '../template/types.js';
import type { Rpr } from './rpr.js';

/**
 * The plain rule, for when there is no profile at all (or as a baseline): every node
 * one core; function nodes 0.5 GiB, keyed functions 1 GiB (state), I/O nodes 0.25 GiB;
 * read/write nodes use the store the flow places their type in.
 */
export function ruleRprs(template: Template): Rpr[] {
  return template.nodes.map((node) => {
    const keyed = node.kind === 'function' && node.key !== undefined;
    const memory = node.kind === 'function' ? (keyed ? 1 : 0.5) : 0.25;
    return {
      node_id: node.id,
      resource_type: 'CPU',
      cpu_cores: 1,
      memory_gb: memory,
      gpu_enabled: false,
      data_store_instance:
        node.kind === 'read' || node.kind === 'write' ? (node.data_store ?? null) : null,
      reasoning: {
        basis: 'rule',
        notes: [`rule: 1 core, ${memory} GiB for a ${keyed ? 'keyed ' : ''}${node.kind} node`],
      },
    };
  });
}
