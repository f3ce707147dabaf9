import { WarmflowError } from '../../errors.js';
import type { Template, TemplateNode } from '../../template/types.js';

/** Where records of one type leave a node for. */
export type Route =
  | { kind: 'function'; node: string; key: string | undefined }
  | { kind: 'store'; node: string; type: string; store: string; key: string | undefined }
  | { kind: 'sink'; node: string; type: string };

/** One function node as a thread runs it. */
export interface GraphNode {
  id: string;
  key: string | undefined;
  /** State names the function declares (read and written synchronously); empty if none. */
  state: readonly string[];
  /** Output types in descriptor order; records are routed by their type. */
  outputs: string[];
  routes: Map<string, Route[]>;
  /** Further input types the function may read with `ctx.input(T)` (from the template's transactions). */
  reads: string[];
  /** Position in topological order, so a batch runs each node once, upstream first. */
  order: number;
}

/** The part of a template one resource runs, compiled for fast routing. */
export interface NodeGraph {
  /** Function nodes in topological order. */
  functions: GraphNode[];
  byId: Map<string, GraphNode>;
  /** Routes of each source node. */
  sourceRoutes: Map<string, Route[]>;
  /** Number of keyed exchanges on the longest path; the drain needs one round per exchange. */
  exchanges: number;
}

function stripRead(name: string): string {
  return name.startsWith('read:') ? name.slice(5) : name;
}

/**
 * Compiles the nodes of `nodeIds` into routing tables. Edges to nodes outside the set are
 * refused: this data plane chains a whole connected group on one resource.
 */
export function compileGraph(
  template: Template,
  nodeIds: readonly string[],
  sourceIds: readonly string[],
  typeKeys: Record<string, string>,
): NodeGraph {
  const inGroup = new Set(nodeIds);
  const nodes = new Map<string, TemplateNode>(template.nodes.map((n) => [n.id, n]));
  const routeTo = (to: string, type: string): Route | undefined => {
    const target = nodes.get(to);
    if (target === undefined || target.kind === 'read' || target.kind === 'source')
      return undefined;
    if (!inGroup.has(to)) {
      throw new WarmflowError('E_PLAN', `edge ${type} -> "${to}" leaves the resource's group`, {
        hint: 'deploy the whole connected group of nodes onto one resource (see planGroups)',
      });
    }
    if (target.kind === 'function') return { kind: 'function', node: to, key: target.key };
    if (target.data_store !== undefined) {
      return { kind: 'store', node: to, type, store: target.data_store, key: typeKeys[type] };
    }
    return { kind: 'sink', node: to, type };
  };
  const routesFrom = (from: string): Map<string, Route[]> => {
    const routes = new Map<string, Route[]>();
    for (const edge of template.edges) {
      if (edge.from !== from) continue;
      const route = routeTo(edge.to, edge.type);
      if (route === undefined) continue;
      const list = routes.get(edge.type) ?? [];
      list.push(route);
      routes.set(edge.type, list);
    }
    return routes;
  };

  const order = topologicalFunctions(template, inGroup);
  const functions: GraphNode[] = order.map((id, index) => {
    const node = nodes.get(id)!;
    const routes = routesFrom(id);
    const outputs = template.edges.filter((e) => e.from === id).map((e) => e.type);
    const tx = template.transactions.find((t) => t.function === id);
    return {
      id,
      key: node.key,
      state: node.state ?? [],
      outputs: [...new Set(outputs)],
      routes,
      reads: (tx?.reads ?? []).map(stripRead),
      order: index,
    };
  });
  const sourceRoutes = new Map(sourceIds.map((id) => [id, [...routesFrom(id).values()].flat()]));
  return {
    functions,
    byId: new Map(functions.map((f) => [f.id, f])),
    sourceRoutes,
    exchanges: Math.max(0, ...sourceIds.map((id) => countExchanges(template, id, nodes))),
  };
}

function topologicalFunctions(template: Template, inGroup: Set<string>): string[] {
  const ids = template.nodes
    .filter((n) => n.kind === 'function' && inGroup.has(n.id))
    .map((n) => n.id);
  const indegree = new Map(ids.map((id) => [id, 0]));
  for (const e of template.edges)
    if (indegree.has(e.to) && indegree.has(e.from)) indegree.set(e.to, indegree.get(e.to)! + 1);
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const out: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    out.push(id);
    for (const e of template.edges) {
      if (e.from !== id || !indegree.has(e.to)) continue;
      const left = indegree.get(e.to)! - 1;
      indegree.set(e.to, left);
      if (left === 0) ready.push(e.to);
    }
  }
  if (out.length !== ids.length)
    throw new WarmflowError('E_PLAN', 'the template has a cycle among function nodes');
  return out;
}

/** Longest number of keyed nodes on any path from the source. */
function countExchanges(
  template: Template,
  sourceId: string,
  nodes: Map<string, TemplateNode>,
): number {
  const memo = new Map<string, number>();
  const depth = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    memo.set(id, 0);
    let best = 0;
    for (const e of template.edges) {
      if (e.from !== id) continue;
      const target = nodes.get(e.to);
      if (target?.kind !== 'function') continue;
      best = Math.max(best, depth(e.to) + (target.key !== undefined ? 1 : 0));
    }
    memo.set(id, best);
    return best;
  };
  return depth(sourceId);
}

/** Which output type a record a function returned carries. */
export function outputTypeOf(node: GraphNode, record: unknown): string | undefined {
  if (node.outputs.length === 1) return node.outputs[0];
  if (record !== null && typeof record === 'object') {
    const tagged =
      (record as Record<string, unknown>).$type ?? (record as Record<string, unknown>).type;
    if (typeof tagged === 'string' && node.outputs.includes(tagged)) return tagged;
  }
  return undefined;
}
