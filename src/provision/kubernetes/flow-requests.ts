import { resolve } from 'node:path';
import type { Rpr } from '../../predictor/rpr.js';
import type { StoreSpec } from '../../template/types.js';
import type { ProvisionRequest, WarmSpec } from '../provider.js';

/** Token shown in printed manifests; the pool generates a real one per pool. */
export const TOKEN_PLACEHOLDER = 'generated-per-pool-at-provision-time';

/** The part of a loaded flow (`loadFlow` of `template/`) printing manifests needs. */
export interface ManifestFlow {
  spec: { name: string; stores?: Record<string, StoreSpec> };
  dir: string;
  functions: Array<{ name: string; module: string | null; export: string }>;
}

/**
 * The WarmSpec of one RPR, built the way the warm pool builds it (`pool/resource-plan.ts`):
 * the function modules of the nodes it serves and the stores named by its
 * `data_store_instance` (merged requests join several with `+`), sqlite paths made absolute.
 */
export function warmSpecFor(flow: ManifestFlow, rpr: Rpr): WarmSpec {
  const functions: WarmSpec['functions'] = [];
  for (const nodeId of rpr.node_id.split('+')) {
    const fn = flow.functions.find((candidate) => candidate.name === nodeId);
    if (fn?.module) functions.push({ node_id: nodeId, module: fn.module, export: fn.export });
  }
  const stores: Record<string, StoreSpec> = {};
  for (const name of rpr.data_store_instance?.split('+') ?? []) {
    const spec = flow.spec.stores?.[name];
    if (spec === undefined) continue;
    stores[name] =
      spec.path !== undefined ? { ...spec, path: resolve(flow.dir, spec.path) } : { ...spec };
  }
  return { functions, stores };
}

/** One ProvisionRequest per RPR of a flow, as the pool sends them to a provider. */
export function flowProvisionRequests(
  flow: ManifestFlow,
  rprs: readonly Rpr[],
  tenant: string,
  token = TOKEN_PLACEHOLDER,
): ProvisionRequest[] {
  return rprs.map((rpr) => ({
    tenant,
    template: flow.spec.name,
    rpr,
    node_ids: rpr.node_id.split('+'),
    warm: warmSpecFor(flow, rpr),
    token,
  }));
}
