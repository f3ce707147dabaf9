import { ValidationError, type Problem } from '../errors.js';
import { checkDescriptors, problem, type Locate } from './check-descriptors.js';
import { findCycles, formatCycle } from './find-cycles.js';
import { pathToString, type FlowPositions } from './flow-positions.js';
import type {
  FlowSpec,
  Template,
  TemplateEdge,
  TemplateNode,
  TemplateTransaction,
} from './types.js';

/** Options of {@link inferTemplate}: where the spec came from, for messages. */
export interface InferOptions {
  /** The flow file, named in problems when no finer position is known. */
  file?: string;
  /** Positions of the spec's parts; defaults to the `positions` that `parseFlow` attaches. */
  positions?: FlowPositions;
}

/**
 * Infers the dataflow template from function descriptors, which give only input and
 * output types and no order:
 *
 * - an edge `P → F` labelled `T` for every function P outputting T and every F inputting T;
 * - every stream feeds the consumers of its type from node `source:<stream>`;
 * - a consumed type nobody produces and no stream carries is read by a `read:T` node from
 *   the store `types` places it in (else: an error);
 * - a produced type nobody consumes is written by a `write:T` node into the type's store,
 *   else the flow's `sink`, else the default JSONL sink (no `data_store`);
 * - the reads and writes around one function form its transaction.
 *
 * Every problem (cycles, unsatisfiable inputs, unknown stores, duplicate names, functions
 * without inputs or outputs, unused streams) is found in one pass and thrown together as
 * one {@link ValidationError} naming the functions, types and file positions involved.
 *
 * ```ts
 * const template = inferTemplate(defineFlow({ name: 'f', streams: { s: { type: 'A' } },
 *   functions: [{ name: 'g', input: ['A'], output: ['B'] }] }));
 * // nodes: source:s, g, write:B; edges: source:s→g (A), g→write:B (B)
 * ```
 */
export function inferTemplate(spec: FlowSpec, options: InferOptions = {}): Template {
  const positions = options.positions ?? (spec as { positions?: FlowPositions }).positions;
  const file = options.file ?? positions?.file;
  const locate: Locate = (path) =>
    positions?.at(path) ?? (file === undefined ? undefined : { file });
  const problems: Problem[] = [];
  const functions = checkDescriptors(spec, locate, problems);
  // Own properties only: a type named `constructor` must not find Object's.
  const placement = (type: string) =>
    spec.types !== undefined && Object.hasOwn(spec.types, type) ? spec.types[type] : undefined;

  const producers = new Map<string, string[]>();
  const consumers = new Set<string>();
  for (const { fn } of functions) {
    for (const type of new Set(fn.output)) push(producers, type, fn.name);
    for (const type of fn.input) consumers.add(type);
  }
  const streamsOf = new Map<string, string[]>();
  const sources: TemplateNode[] = [];
  for (const [stream, { type }] of Object.entries(spec.streams ?? {})) {
    if (!consumers.has(type)) {
      problems.push(
        problem(
          locate,
          'E_UNUSED_STREAM',
          `stream "${stream}" carries type "${type}", which no function consumes`,
          pathToString(['streams', stream, 'type']),
          [stream, type],
        ),
      );
      continue;
    }
    push(streamsOf, type, stream);
    sources.push({ id: `source:${stream}`, kind: 'source', type });
  }

  const reads = new Map<string, TemplateNode>();
  const writes = new Map<string, TemplateNode>();
  const edges: TemplateEdge[] = [];
  const functionEdges: TemplateEdge[] = [];
  for (const { fn, index } of functions) {
    new Set(fn.input).forEach((type) => {
      const from = [
        ...(streamsOf.get(type) ?? []).map((stream) => `source:${stream}`),
        ...(producers.get(type) ?? []),
      ];
      if (from.length === 0) {
        const store = placement(type)?.store;
        if (store === undefined) {
          problems.push(unsatisfiable(locate, fn.name, type, fn.input.indexOf(type), index));
          return;
        }
        if (!reads.has(type)) reads.set(type, ioNode('read', type, store, placement(type)?.key));
        from.push(`read:${type}`);
      }
      for (const producer of from) {
        const edge = { from: producer, to: fn.name, type };
        edges.push(edge);
        if (producers.get(type)?.includes(producer)) functionEdges.push(edge);
      }
    });
  }
  for (const { fn } of functions) {
    for (const type of new Set(fn.output)) {
      if (consumers.has(type)) continue;
      if (!writes.has(type)) {
        const store = placement(type)?.store ?? spec.sink;
        writes.set(type, ioNode('write', type, store, placement(type)?.key));
      }
      edges.push({ from: fn.name, to: `write:${type}`, type });
    }
  }

  const names = functions.map(({ fn }) => fn.name);
  const declared = new Map(functions.map(({ fn, index }) => [fn.name, index]));
  for (const cycle of findCycles(names, functionEdges)) {
    const involved = [...new Set(cycle.flatMap((edge) => [edge.from, edge.type]))];
    problems.push(
      problem(
        locate,
        'E_CYCLE',
        `cycle: ${formatCycle(cycle)}; a flow must be acyclic (functions ${cycle.map((e) => `"${e.from}"`).join(', ')} feed each other through types ${[...new Set(cycle.map((e) => `"${e.type}"`))].join(', ')})`,
        `functions[${declared.get(cycle[0].from)}].name`,
        involved,
      ),
    );
  }

  if (problems.length > 0) {
    problems.sort((a, b) => (a.position?.line ?? Infinity) - (b.position?.line ?? Infinity));
    throw new ValidationError(`invalid flow ${file ?? `"${spec.name}"`}`, problems);
  }

  const transactions: TemplateTransaction[] = [];
  for (const name of names) {
    const txReads = edges
      .filter((e) => e.to === name && e.from.startsWith('read:'))
      .map((e) => e.from);
    const txWrites = edges
      .filter((e) => e.from === name && e.to.startsWith('write:'))
      .map((e) => e.to);
    if (txReads.length + txWrites.length > 0)
      transactions.push({ function: name, reads: txReads, writes: txWrites });
  }
  const functionNodes = functions.map(({ fn }): TemplateNode => {
    const node: TemplateNode = { id: fn.name, kind: 'function' };
    if (fn.key !== undefined) node.key = fn.key;
    if (fn.key !== undefined && fn.state !== undefined && fn.state.length > 0)
      node.state = [...fn.state];
    return node;
  });
  return {
    name: spec.name,
    nodes: [...sources, ...reads.values(), ...functionNodes, ...writes.values()],
    edges,
    transactions,
  };
}

function unsatisfiable(
  locate: Locate,
  fn: string,
  type: string,
  input: number,
  index: number,
): Problem {
  return problem(
    locate,
    'E_UNSATISFIED_INPUT',
    `function "${fn}" needs type "${type}", which no function produces, no stream carries and no store holds; ` +
      `add a stream of type ${type}, a function that outputs it, or place it with types.${type}.store`,
    `functions[${index}].input[${input}]`,
    [fn, type],
  );
}

function ioNode(
  kind: 'read' | 'write',
  type: string,
  store: string | undefined,
  key: string | undefined,
): TemplateNode {
  const node: TemplateNode = { id: `${kind}:${type}`, kind, type };
  if (store !== undefined) node.data_store = store;
  if (key !== undefined) node.key = key;
  return node;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
