import type { Rpr } from '../../predictor/rpr.js';
import { planResources, type PoolFlow } from '../pool/resource-plan.js';
import type { ProvisionRequest } from '../provider.js';

/** Token shown in printed manifests; the pool generates a real one per pool. */
export const TOKEN_PLACEHOLDER = 'generated-per-pool-at-provision-time';

/**
 * The ProvisionRequests a warm pool sends a provider for one set of a flow: planned by the
 * pool's own `planResources` (one resource per placement group, merged RPRs, WarmSpecs), so
 * `warmflow k8s manifests` prints what a live pool would make the provider apply.
 */
export function flowProvisionRequests(
  flow: PoolFlow,
  rprs: Rpr[],
  tenant: string,
  token = TOKEN_PLACEHOLDER,
  groups?: string[][],
): ProvisionRequest[] {
  return planResources(flow, rprs, groups).map((plan) => ({
    tenant,
    template: flow.template.name,
    rpr: plan.rpr,
    node_ids: plan.node_ids,
    warm: plan.warm,
    token,
  }));
}
