import type { Template, TemplateNode } from '../../template/types.js';
import { WarmflowError } from '../../errors.js';

/** Rates and sizes of one node, as records flow through the DAG. */
export interface NodeRates {
  node_id: string;
  kind: TemplateNode['kind'];
  /** Records per second the node is called with (reads: lookups per second). */
  input_rate: number;
  output_rate: number;
  /** Rate-weighted mean size in bytes of the records the node receives. */
  input_record_size: number;
  output_record_size: number;
  /** Producers whose output feeds this node's input rate. */
  fed_by: string[];
  /** Read nodes only: whether consumers scan the type as their record stream or look it up by key. */
  read_mode?: 'scan' | 'lookup';
}

/** What {@link propagateRates} needs to know about each node. */
export interface RateInputs {
  /** Records per second a source (or a scanned read) emits. */
  sourceRate(node: TemplateNode): number;
  /** Mean record size of what a source or scanned read emits. */
  sourceRecordSize(node: TemplateNode): number;
  /** Records out per record in of a function node. */
  selectivity(nodeId: string): number;
  /** Output record size / input record size of a function node. */
  sizeRatio(nodeId: string): number;
  /** The type a function is called with (its first input), if known. */
  primaryInput(nodeId: string): string | undefined;
  /** The function's output types; its output rate is split evenly over them. */
  outputTypes(nodeId: string): readonly string[] | undefined;
}

/** Node ids in an order where every producer comes before its consumers (Kahn). */
export function topologicalOrder(template: Template): string[] {
  const indegree = new Map(template.nodes.map((n) => [n.id, 0]));
  const next = new Map<string, string[]>(template.nodes.map((n) => [n.id, []]));
  for (const edge of template.edges) {
    indegree.set(edge.to, (indegree.get(edge.to) ?? 0) + 1);
    next.get(edge.from)?.push(edge.to);
  }
  const ready = template.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const to of next.get(id) ?? []) {
      const left = (indegree.get(to) ?? 0) - 1;
      indegree.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  if (order.length !== template.nodes.length) {
    const stuck = template.nodes.filter((n) => !order.includes(n.id)).map((n) => n.id);
    throw new WarmflowError('E_CYCLE', `the template has a cycle through ${stuck.join(', ')}`, {
      hint: 'validate the flow with `warmflow template FLOW`',
    });
  }
  return order;
}

/**
 * DS2-style rate accounting: a node's input rate is the sum of the rates on its
 * incoming edges, its output rate is input × selectivity, and every consumer of a
 * type receives all of it (a type with two consumers is broadcast, not split). A
 * function with several output types is assumed to split its output evenly over them.
 * Read nodes either feed a function's record stream (a scan, at the source rate) or
 * answer lookups, one per record of the consumer (their `input_rate` is lookups/s).
 */
export function propagateRates(template: Template, inputs: RateInputs): Map<string, NodeRates> {
  const nodes = new Map(template.nodes.map((n) => [n.id, n]));
  const incoming = new Map<string, typeof template.edges>();
  for (const edge of template.edges)
    incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
  const out = new Map<string, NodeRates>();
  const edgeRate = (from: NodeRates, type: string): number => {
    if (from.kind !== 'function') return from.output_rate;
    const types = inputs.outputTypes(from.node_id);
    const share = types && types.length > 0 && types.includes(type) ? 1 / types.length : 1;
    return from.output_rate * share;
  };

  for (const id of topologicalOrder(template)) {
    const node = nodes.get(id)!;
    if (node.kind === 'source' || node.kind === 'read') {
      // A read's rate is decided by its consumer below; a source's by the profile.
      const rate = node.kind === 'source' ? inputs.sourceRate(node) : 0;
      const size = inputs.sourceRecordSize(node);
      out.set(id, rateRecord(node, rate, rate, size, size, []));
      continue;
    }
    let rate = 0;
    let bytes = 0;
    const fedBy: string[] = [];
    const lookups: NodeRates[] = [];
    for (const edge of incoming.get(id) ?? []) {
      const from = out.get(edge.from)!;
      if (
        from.kind === 'read' &&
        node.kind === 'function' &&
        inputs.primaryInput(id) !== edge.type
      ) {
        lookups.push(from);
        continue;
      }
      if (from.kind === 'read') {
        from.read_mode = 'scan';
        from.input_rate = from.output_rate = inputs.sourceRate(nodes.get(from.node_id)!);
      }
      const r = edgeRate(from, edge.type);
      rate += r;
      bytes += r * from.output_record_size;
      fedBy.push(edge.from);
    }
    const fedSizes = fedBy.map((f) => out.get(f)!.output_record_size);
    const inSize = rate > 0 ? bytes / rate : fedSizes.length > 0 ? mean(fedSizes) : 0;
    for (const read of lookups) {
      read.read_mode = 'lookup';
      read.input_rate += rate;
      read.output_rate += rate;
    }
    const isFunction = node.kind === 'function';
    const outRate = isFunction ? rate * inputs.selectivity(id) : 0;
    const outSize = isFunction ? inSize * inputs.sizeRatio(id) : inSize;
    out.set(id, rateRecord(node, rate, outRate, inSize, outSize, fedBy));
  }
  return out;
}

function rateRecord(
  node: TemplateNode,
  inRate: number,
  outRate: number,
  inSize: number,
  outSize: number,
  fedBy: string[],
): NodeRates {
  return {
    node_id: node.id,
    kind: node.kind,
    input_rate: inRate,
    output_rate: outRate,
    input_record_size: inSize,
    output_record_size: outSize,
    fed_by: fedBy,
  };
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
