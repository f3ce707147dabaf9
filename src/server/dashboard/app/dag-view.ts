/// <reference lib="dom" />
import type { ExecutionView, TemplateView } from './views.js';

/** The part of dagre the view uses (its browser bundle is loaded at run time). */
export interface DagreLike {
  graphlib: { Graph: new (options?: { multigraph?: boolean }) => DagreGraph };
  layout(graph: DagreGraph): void;
}
interface DagreGraph {
  setGraph(label: Record<string, unknown>): void;
  setDefaultEdgeLabel(fn: () => Record<string, unknown>): void;
  setNode(id: string, label: Record<string, unknown>): void;
  setEdge(from: string, to: string, label?: Record<string, unknown>, name?: string): void;
  node(id: string): { x: number; y: number; width: number; height: number };
  edge(edge: { v: string; w: string; name?: string }): {
    points: Array<{ x: number; y: number }>;
    x?: number;
    y?: number;
  };
  edges(): Array<{ v: string; w: string; name?: string }>;
  graph(): { width?: number; height?: number };
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Lays the template out left to right with dagre and draws it as SVG, each node
 * coloured by its state in the execution (pending / running / succeeded / failed)
 * and labelled with its records in and out.
 */
export function renderDag(
  container: HTMLElement,
  dagre: DagreLike,
  template: TemplateView,
  execution: ExecutionView | undefined,
): void {
  const progress = new Map((execution?.nodes ?? []).map((n) => [n.node_id, n]));
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of template.nodes) {
    const p = progress.get(node.id);
    const figures = p === undefined ? 0 : `in ${p.records_in} · out ${p.records_out}`.length;
    g.setNode(node.id, {
      width: Math.max(110, Math.max(node.id.length, figures) * 7.5 + 24),
      height: 44,
    });
  }
  template.edges.forEach((edge, i) =>
    g.setEdge(
      edge.from,
      edge.to,
      { label: edge.type, width: edge.type.length * 6, height: 12 },
      `e${i}`,
    ),
  );
  dagre.layout(g);

  const { width = 400, height = 200 } = g.graph();
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `template ${template.name}`,
  });
  const defs = svg('defs', {});
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#6b7280' }));
  defs.appendChild(marker);
  root.appendChild(defs);

  for (const e of g.edges()) {
    const { points, x, y } = g.edge(e);
    const group = svg('g', { class: 'edge', 'data-from': e.v, 'data-to': e.w });
    group.appendChild(
      svg('path', { d: points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x} ${p.y}`).join(' ') }),
    );
    const type = template.edges[Number(e.name?.slice(1))]?.type ?? '';
    if (x !== undefined && y !== undefined)
      group.appendChild(svg('text', { x, y: y - 3, 'text-anchor': 'middle' }, type));
    root.appendChild(group);
  }
  for (const node of template.nodes) {
    const { x, y, width: w, height: h } = g.node(node.id);
    const p = progress.get(node.id);
    const state = p?.state ?? (execution === undefined ? 'pending' : 'pending');
    const group = svg('g', {
      class: `node state-${state} kind-${node.kind}`,
      'data-node-id': node.id,
      'data-state': state,
    });
    group.appendChild(svg('rect', { x: x - w / 2, y: y - h / 2, width: w, height: h }));
    group.appendChild(
      svg('text', { x, y: y - 4, 'text-anchor': 'middle', 'font-weight': 600 }, node.id),
    );
    const figures = p === undefined ? node.kind : `in ${p.records_in} · out ${p.records_out}`;
    group.appendChild(
      svg('text', { x, y: y + 13, 'text-anchor': 'middle', class: 'figures' }, figures),
    );
    const title = svg('title', {}, `${node.id} (${node.kind}) — ${state}`);
    group.appendChild(title);
    root.appendChild(group);
  }
  container.replaceChildren(root);
}
