import { planGroups } from '../execute/plan.js';
import type { Rpr } from '../predictor/rpr.js';
import { mergeRprs } from '../provision/pool/resource-plan.js';
import { roundCores } from '../provision/local/machine-capacity.js';
import type { Template } from '../template/types.js';
import type { ResourceAmount } from '../tenancy/quotas.js';

/**
 * What starting `rprs` really holds: one resource per group of co-located nodes (the
 * groups executions and pools plan by), its RPR merged (cores summed and rounded up)
 * and its cores rounded to the provider's step. Five nodes of 0.01 cores in five groups
 * hold five quarter-cores, not 0.05 cores. Only groups with a node in `only` count when
 * it is given (the nodes a run must provision on demand).
 */
export function chargeOf(
  template: Template,
  rprs: readonly Rpr[],
  only?: (nodeId: string) => boolean,
): ResourceAmount {
  const byNode = new Map(rprs.map((rpr) => [rpr.node_id, rpr]));
  const amount: ResourceAmount = { cores: 0, memory_gb: 0, warm_resources: 0 };
  for (const group of planGroups(template)) {
    const members = group.map((id) => byNode.get(id)).filter((r): r is Rpr => r !== undefined);
    if (members.length === 0) continue;
    if (only !== undefined && !group.some(only)) continue;
    const merged = mergeRprs(members);
    amount.cores += roundCores(merged.cpu_cores);
    amount.memory_gb += merged.memory_gb;
    amount.warm_resources += 1;
  }
  return amount;
}
