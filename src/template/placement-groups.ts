import type { Template } from './types.js';

/**
 * Placement groups: which template nodes share one resource. A group is a connected part
 * of the template — every function node with its source, read and write nodes — because
 * the data plane chains all of them inside one resource: neighbouring functions pass
 * records as objects (no serialization), and a keyed function's partitioning is done
 * between the resource's threads (one per core), each owning a share of the keys. Records
 * never cross a process boundary inside a group, which is what makes one resource of N
 * cores beat N one-core resources joined by a network exchange on the same machine.
 *
 * ```ts
 * planGroups(template); // [['source:clicks', 'read:UserProfile', 'parse', 'enrich', 'sessionize', 'write:Session']]
 * ```
 *
 * The one rule for which nodes share a resource: executions place by it, and warm pools
 * (`pool up`, `POST /v1/pools`, `run`, `demo`), calibration and Kubernetes manifests plan by
 * it, so a pool made by any of them is claimable by the next execution of the template.
 */
export function planGroups(template: Template): string[][] {
  const parent = new Map(template.nodes.map((n) => [n.id, n.id]));
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  for (const edge of template.edges) {
    if (parent.has(edge.from) && parent.has(edge.to)) parent.set(find(edge.from), find(edge.to));
  }
  const groups = new Map<string, string[]>();
  for (const node of template.nodes) {
    const root = find(node.id);
    groups.set(root, [...(groups.get(root) ?? []), node.id]);
  }
  return [...groups.values()];
}
