import type { TemplateEdge } from './types.js';

/** One cycle as the edges that close it, in order: `a -[T]-> b -[U]-> a`. */
export type Cycle = TemplateEdge[];

/**
 * Finds one cycle in every strongly connected part of a directed graph that has
 * one (Tarjan's algorithm, then a shortest way round from the part's earliest
 * node). A graph with several independent cycles yields several, so a user sees
 * all of them at once rather than fixing one and meeting the next.
 *
 * `order` fixes which node a cycle is printed from (the earliest in it), so that
 * messages are the same from run to run.
 */
export function findCycles(order: readonly string[], edges: readonly TemplateEdge[]): Cycle[] {
  const out = new Map<string, TemplateEdge[]>(order.map((id) => [id, []]));
  for (const edge of edges) out.get(edge.from)?.push(edge);

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  // Iterative Tarjan: flows are small, but generated ones in tests need not be.
  for (const root of order) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const successors = out.get(frame.node) ?? [];
      if (frame.next < successors.length) {
        const to = successors[frame.next++].to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }

  const position = new Map(order.map((id, i) => [id, i]));
  const cycles: Cycle[] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort((a, b) => position.get(a)! - position.get(b)!)[0];
    const selfLoop = (out.get(start) ?? []).find((edge) => edge.to === start);
    if (component.length === 1) {
      if (selfLoop) cycles.push([selfLoop]);
      continue;
    }
    cycles.push(shortestWayRound(start, members, out));
  }
  return cycles.sort((a, b) => position.get(a[0].from)! - position.get(b[0].from)!);
}

function shortestWayRound(
  start: string,
  members: Set<string>,
  out: Map<string, TemplateEdge[]>,
): Cycle {
  const via = new Map<string, TemplateEdge>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    for (const edge of out.get(node) ?? []) {
      if (!members.has(edge.to)) continue;
      if (edge.to === start) {
        // Walked backwards from the closing edge; reversed once at the end (unshift is quadratic).
        const cycle: Cycle = [edge];
        for (let at = node; at !== start;) {
          const back = via.get(at)!;
          cycle.push(back);
          at = back.from;
        }
        return cycle.reverse();
      }
      if (!via.has(edge.to)) {
        via.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
  }
  // Unreachable: every member of a strongly connected part leads back to `start`.
  throw new Error(`no cycle through ${start}`);
}

/** `a -[T]-> b -[U]-> a` */
export function formatCycle(cycle: Cycle): string {
  return cycle.map((edge) => `${edge.from} -[${edge.type}]->`).join(' ') + ` ${cycle[0].from}`;
}
