import type { CompletionStatus } from './completion-status.js';

type StatusNode = CompletionStatus['nodes'][number];

/**
 * The memory (GiB) requested for the resource a node ran on: the sum of the RPRs of every
 * node of the status on that resource, as the resource was provisioned (see
 * `planResources`). A node's peak is its resource's peak, so it is compared with this,
 * not with the node's own share. Null when the node has no RPR; its own when it ran alone
 * or in the orchestrator.
 */
export function resourceMemoryRequestGb(
  nodes: readonly StatusNode[],
  node: StatusNode,
): number | null {
  if (node.rpr === null) return null;
  if (node.resource_id === null) return node.rpr.memory_gb;
  const sharing = nodes.filter((n) => n.resource_id === node.resource_id && n.rpr !== null);
  return Math.round(sharing.reduce((sum, n) => sum + n.rpr!.memory_gb, 0) * 1000) / 1000;
}
