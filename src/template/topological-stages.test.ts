import { describe, expect, it } from 'vitest';
import { WarmflowError } from '../errors.js';
import { topologicalStages } from './topological-stages.js';
import type { Template } from './types.js';

const template = (edges: Array<[string, string]>, ids: string[]): Template => ({
  name: 't',
  nodes: ids.map((id) => ({ id, kind: 'function' })),
  edges: edges.map(([from, to]) => ({ from, to, type: 'T' })),
  transactions: [],
});

describe('topologicalStages', () => {
  it('puts each node one stage after its latest input, keeping template order within a stage', () => {
    const t = template(
      [
        ['src', 'a'],
        ['src', 'b'],
        ['a', 'join'],
        ['b', 'c'],
        ['c', 'join'],
      ],
      ['c', 'b', 'a', 'join', 'src', 'lonely'],
    );
    expect(topologicalStages(t)).toEqual([['src', 'lonely'], ['b', 'a'], ['c'], ['join']]);
  });

  it('refuses a cycle, naming it', () => {
    const t = template(
      [
        ['a', 'b'],
        ['b', 'a'],
      ],
      ['a', 'b'],
    );
    expect(() => topologicalStages(t)).toThrow(WarmflowError);
    expect(() => topologicalStages(t)).toThrow('a -[T]-> b -[T]-> a');
  });
});
