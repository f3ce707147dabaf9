import type { Rpr } from '../predictor/rpr.js';

export { planGroups } from '../template/placement-groups.js';

/**
 * The RPRs a group is provisioned with. The pools merge a group's RPRs by summing cores;
 * a predictor sizes each node as if alone (at least one core each), so a group of six
 * nodes would ask for six cores although its nodes share threads. When a group's sum
 * exceeds `maxCores` (the provider's capacity), its nodes' cores are scaled down
 * proportionally — the shares stay what the predictor said, the total fits. Memory is kept.
 */
export function fitGroupRprs(
  rprs: readonly Rpr[],
  groups: readonly string[][],
  maxCores: number,
): Rpr[] {
  const byNode = new Map(rprs.map((r) => [r.node_id, r]));
  const fitted = new Map<string, Rpr>();
  for (const group of groups) {
    const members = group.map((id) => byNode.get(id)).filter((r): r is Rpr => r !== undefined);
    const total = members.reduce((sum, r) => sum + r.cpu_cores, 0);
    const scale = total > maxCores && total > 0 ? maxCores / total : 1;
    for (const rpr of members) {
      if (scale === 1) {
        fitted.set(rpr.node_id, rpr);
        continue;
      }
      const cores = Math.max(0.01, Math.floor(rpr.cpu_cores * scale * 100) / 100);
      const notes = [
        ...(rpr.reasoning?.notes ?? []),
        `co-located in a group of ${group.length} nodes: ${rpr.cpu_cores} -> ${cores} cores to fit ${maxCores}`,
      ];
      fitted.set(rpr.node_id, {
        ...rpr,
        cpu_cores: cores,
        reasoning: { ...(rpr.reasoning ?? { basis: 'rule' }), notes },
      });
    }
  }
  return rprs.map((r) => fitted.get(r.node_id) ?? r);
}

/** Threads a group's resource runs: its merged cores (at least one). */
export function groupParallelism(rprs: readonly Rpr[], group: readonly string[]): number {
  const total = rprs
    .filter((r) => group.includes(r.node_id))
    .reduce((sum, r) => sum + r.cpu_cores, 0);
  return Math.max(1, Math.ceil(total - 1e-9));
}
