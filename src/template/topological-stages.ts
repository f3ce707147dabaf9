import { WarmflowError } from '../errors.js';
import { findCycles, formatCycle } from './find-cycles.js';
import type { Template } from './types.js';

/**
 * Groups a template's nodes into stages: every node comes after everything that
 * feeds it, and each stage holds the nodes whose inputs are all in earlier stages
 * (Kahn's algorithm, level by level). Within a stage, nodes keep template order.
 *
 * ```ts
 * topologicalStages(template); // [['source:clicks', 'read:UserProfile'], ['parse'], ['enrich'], …]
 * ```
 *
 * @throws WarmflowError `E_CYCLE` when the template has a cycle (inferTemplate refuses those).
 */
export function topologicalStages(template: Template): string[][] {
  const ids = template.nodes.map((node) => node.id);
  const pending = new Map(ids.map((id) => [id, 0]));
  for (const edge of template.edges) pending.set(edge.to, (pending.get(edge.to) ?? 0) + 1);
  const stages: string[][] = [];
  let current = ids.filter((id) => pending.get(id) === 0);
  let placed = 0;
  while (current.length > 0) {
    stages.push(current);
    placed += current.length;
    const ready = new Set<string>();
    for (const edge of template.edges) {
      if (!current.includes(edge.from)) continue;
      const left = pending.get(edge.to)! - 1;
      pending.set(edge.to, left);
      if (left === 0) ready.add(edge.to);
    }
    current = ids.filter((id) => ready.has(id));
  }
  if (placed < ids.length) {
    const cycle = findCycles(ids, template.edges)[0];
    throw new WarmflowError(
      'E_CYCLE',
      `template "${template.name}" has a cycle${cycle ? `: ${formatCycle(cycle)}` : ''}`,
    );
  }
  return stages;
}
