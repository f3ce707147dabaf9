import type { Rac } from '../rac.js';
import type { KubeObject } from './kube-api.js';
import { ANNOTATION } from './manifests/index.js';
import type { PodView } from './pod-view.js';

/**
 * Reads a pod back as the RAC of its resource (what adopting a pod after a restart needs):
 * the exact tenant, template, node ids and RPR come from the annotations the provider wrote;
 * undefined for a pod without them (not a warmflow worker, or written by a foreign tool).
 */
export function racFromPod(
  pod: KubeObject,
  view: PodView,
  workerPort: number,
  provider: string,
): Rac | undefined {
  const name = pod.metadata?.name;
  const annotations = pod.metadata?.annotations ?? {};
  if (name === undefined) return undefined;
  let rpr: Rac['rpr'];
  let nodeIds: string[];
  try {
    rpr = JSON.parse(annotations[ANNOTATION.rpr] ?? '') as Rac['rpr'];
    nodeIds = JSON.parse(annotations[ANNOTATION.nodeIds] ?? '') as string[];
  } catch {
    return undefined;
  }
  const status: Rac['status'] =
    view.state === 'ready'
      ? 'ready'
      : view.state === 'pending'
        ? 'provisioning'
        : view.state === 'unready'
          ? 'unhealthy'
          : 'failed';
  return {
    resource_id: name,
    status,
    network_address: view.state === 'ready' ? `${view.podIP}:${workerPort}` : '',
    node_id: annotations[ANNOTATION.nodeId] ?? rpr.node_id,
    node_ids: nodeIds,
    template: annotations[ANNOTATION.template] ?? '',
    tenant: annotations[ANNOTATION.tenant] ?? '',
    provider,
    // When it became ready is not recorded on the pod; adoption is when this process saw it so.
    ready_at: view.state === 'ready' ? new Date().toISOString() : null,
    rpr,
  };
}
