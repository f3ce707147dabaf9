import type { Template, TemplateNode } from '../../src/template/types.js';

/**
 * A template from its edges written `from -Type-> to`: nodes in the order they are first
 * named, each of the kind its id says (`source:`, `read:`, `write:`, else a function), an I/O
 * node carrying the type of its edge; `extra` adds fields to nodes (a key, a data store).
 *
 * ```ts
 * templateOf('chain', ['source:s -Raw-> parse', 'parse -Out-> write:Out']);
 * ```
 */
export function templateOf(
  name: string,
  edges: string[],
  extra: Record<string, Partial<TemplateNode>> = {},
): Template {
  const nodes = new Map<string, TemplateNode>();
  const node = (id: string, type: string): void => {
    if (nodes.has(id)) return;
    const prefix = /^(source|read|write):/.exec(id)?.[1] as TemplateNode['kind'] | undefined;
    nodes.set(id, { id, kind: prefix ?? 'function', ...(prefix ? { type } : {}), ...extra[id] });
  };
  const parsed = edges.map((edge) => {
    const match = /^(\S+) -(\S+)-> (\S+)$/.exec(edge);
    if (match === null) throw new Error(`not an edge "from -Type-> to": ${edge}`);
    const [, from, type, to] = match;
    node(from, type);
    node(to, type);
    return { from, to, type };
  });
  return { name, nodes: [...nodes.values()], edges: parsed, transactions: [] };
}
