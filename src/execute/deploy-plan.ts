import type { Rpr } from '../predictor/rpr.js';
import type { StoreSpec } from '../template/types.js';
import type { LoadedFlow } from '../template/load-flow.js';
import { deployTemplate, type DeploySpec } from '../worker/dataplane/deploy-spec.js';
import type { ResolvedSource } from './sources.js';

export { runStores } from '../stores/run-catalogue.js';

/**
 * Builds what `df.run` deploys onto the resource serving `nodeIds`: the template, its
 * sources, the stores, where each type lives and each keyed node keeps its state (the
 * node's RPR `data_store_instance` when it names a store of the catalogue). The template
 * part is the flow's and group's {@link deployTemplate}, named by `template_id`.
 */
export function buildDeploySpec(options: {
  executionId: string;
  flow: LoadedFlow;
  nodeIds: string[];
  rprs: readonly Rpr[];
  sources: readonly ResolvedSource[];
  /** Bytes per chunk of file sources (default: from the file size and threads). */
  chunkBytes?: number;
  stores: Record<string, StoreSpec>;
  stateStore?: string;
  tenant?: string;
  version?: string;
}): DeploySpec {
  const { flow, stores } = options;
  const { template, id } = deployTemplate(flow, options.nodeIds);
  const stateStores: Record<string, string> = {};
  for (const node of flow.template.nodes) {
    if (node.kind !== 'function' || node.key === undefined) continue;
    const named =
      options.stateStore ??
      options.rprs.find((r) => r.node_id === node.id)?.data_store_instance ??
      undefined;
    if (named !== undefined && named !== null && stores[named] !== undefined)
      stateStores[node.id] = named;
  }
  const inGroup = new Set(options.nodeIds);
  return {
    execution_id: options.executionId,
    template_id: id,
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    ...(options.version !== undefined ? { version: options.version } : {}),
    ...template,
    stores,
    state_stores: stateStores,
    sources: options.sources
      .filter((s) => inGroup.has(s.node_id))
      .map((s) =>
        s.mode === 'file'
          ? {
              mode: 'file' as const,
              node_id: s.node_id,
              type: s.type,
              path: s.input,
              ...(options.chunkBytes !== undefined ? { chunk_bytes: options.chunkBytes } : {}),
            }
          : { mode: 'push' as const, node_id: s.node_id, type: s.type },
      ),
  };
}
