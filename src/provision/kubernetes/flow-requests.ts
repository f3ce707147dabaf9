import { resolve } from 'node:path';
import type { Rpr } from '../../predictor/rpr.js';
import type { FlowSpec, StoreSpec } from '../../template/types.js';
import type { ProvisionRequest, WarmSpec } from '../provider.js';

/** Token shown in printed manifests; the provider generates a real one per pool. */
export const TOKEN_PLACEHOLDER = 'generated-per-pool-at-provision-time';

/**
 * The WarmSpec of one RPR of a flow: the function modules of the nodes it serves (absolute,
 * resolved against the flow file's folder) and the stores those nodes touch — the RPR's own
 * `data_store_instance`, the stores that place the types the nodes read or write, the sink.
 */
export function warmSpecFor(flow: FlowSpec, flowDir: string, rpr: Rpr): WarmSpec {
  const nodeIds = rpr.node_id.split('+');
  const storeNames = new Set<string>();
  const placeType = (type: string) => {
    const store = flow.types?.[type]?.store;
    if (store !== undefined) storeNames.add(store);
  };
  const functions: WarmSpec['functions'] = [];
  for (const nodeId of nodeIds) {
    const fn = flow.functions.find((candidate) => candidate.name === nodeId);
    if (fn !== undefined) {
      if (fn.module !== undefined)
        functions.push({ node_id: nodeId, module: resolve(flowDir, fn.module), export: fn.name });
      [...fn.input, ...fn.output].forEach(placeType);
    } else if (/^(read|write):/.test(nodeId)) {
      placeType(nodeId.slice(nodeId.indexOf(':') + 1));
      if (nodeId.startsWith('write:') && flow.sink !== undefined) storeNames.add(flow.sink);
    }
  }
  if (rpr.data_store_instance !== null) storeNames.add(rpr.data_store_instance);
  const stores: Record<string, StoreSpec> = {};
  for (const name of storeNames) {
    const spec = flow.stores?.[name];
    if (spec !== undefined) stores[name] = { ...spec };
  }
  return { functions, stores };
}

/** One ProvisionRequest per RPR of a flow, as a pool would send them to a provider. */
export function flowProvisionRequests(
  flow: FlowSpec,
  flowDir: string,
  rprs: readonly Rpr[],
  tenant: string,
  token = TOKEN_PLACEHOLDER,
): ProvisionRequest[] {
  return rprs.map((rpr) => ({
    tenant,
    template: flow.name,
    rpr,
    node_ids: rpr.node_id.split('+'),
    warm: warmSpecFor(flow, flowDir, rpr),
    token,
  }));
}
