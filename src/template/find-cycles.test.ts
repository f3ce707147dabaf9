import { describe, expect, it } from 'vitest';
import { findCycles, formatCycle } from './find-cycles.js';

const e = (from: string, to: string, type = `${from}${to}`) => ({ from, to, type });

describe('findCycles', () => {
  it('finds nothing in a DAG, even with a diamond', () => {
    expect(
      findCycles(['a', 'b', 'c', 'd'], [e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')]),
    ).toEqual([]);
  });

  it('finds one cycle per strongly connected part, printed from its earliest node', () => {
    const cycles = findCycles(
      ['a', 'b', 'c', 'x', 'y'],
      [e('c', 'a'), e('a', 'b'), e('b', 'c'), e('b', 'x'), e('y', 'x'), e('x', 'y')],
    );
    expect(cycles.map(formatCycle)).toEqual([
      'a -[ab]-> b -[bc]-> c -[ca]-> a',
      'x -[xy]-> y -[yx]-> x',
    ]);
  });

  it('takes the shortest way round and reports self-loops', () => {
    const cycles = findCycles(
      ['a', 'b', 'c', 's'],
      [e('a', 'b'), e('b', 'c'), e('c', 'a'), e('b', 'a'), e('s', 's', 'T')],
    );
    expect(cycles.map(formatCycle)).toEqual(['a -[ab]-> b -[ba]-> a', 's -[T]-> s']);
  });

  it('copes with long chains without recursion', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => `n${i}`);
    const edges = ids.slice(1).map((id, i) => e(ids[i], id, 'T'));
    expect(findCycles(ids, edges)).toEqual([]);
    expect(findCycles(ids, [...edges, e('n4999', 'n0', 'T')])[0]).toHaveLength(5_000);
  });
});
