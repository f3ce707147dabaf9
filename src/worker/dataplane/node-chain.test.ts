import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FunctionContext, UserFunction } from '../../template/function-api.js';
import { inferTemplate } from '../../template/infer-template.js';
import { openStore } from '../../stores/open-store.js';
import type { DataStore } from '../../stores/store.js';
import { parseFlow } from '../../template/parse-flow.js';
import { BatchExecutor, chainsOf } from './batch-executor.js';
import { compileGraph } from './node-graph.js';

/** What a function does with a record, chosen by the record's value. */
type Action =
  | 'map'
  | 'drop'
  | 'null'
  | 'array'
  | 'array-with-null'
  | 'empty-array'
  | 'throw'
  | 'async'
  | 'async-drop'
  | 'async-array'
  | 'async-reject'
  | 'lookup';
const ACTIONS: Action[] = [
  'map',
  'drop',
  'null',
  'array',
  'array-with-null',
  'empty-array',
  'throw',
  'async',
  'async-drop',
  'async-array',
  'async-reject',
  'lookup',
];

interface Rec {
  v: number;
  g: string;
  via?: string;
}

/** A function acting by `actions[v % length]`, checking the context it is called with. */
function behaving(name: string, actions: Action[], keyed: boolean, wrong: string[]): UserFunction {
  return (record: unknown, ctx: FunctionContext) => {
    if (record === null || typeof record !== 'object') return { v: 1, g: 'g0', via: name };
    const r = record as Rec;
    const context = ctx as unknown as { record: unknown; tracksRecord: boolean };
    if (context.tracksRecord && context.record !== record)
      wrong.push(`${name}: ctx.record is not the record`);
    if (keyed && ctx.key !== r.g) wrong.push(`${name}: ctx.key ${ctx.key} for ${r.g}`);
    const next = (d: number): Rec => ({
      v: (r.v * 7 + d) % 997,
      g: `g${(r.v + d) % 5}`,
      via: name,
    });
    switch (actions[r.v % actions.length]) {
      case 'map':
        return next(1);
      case 'drop':
        return undefined;
      case 'null':
        return null;
      case 'array':
        return [next(2), next(3)];
      case 'array-with-null':
        return [next(4), null];
      case 'empty-array':
        return [];
      case 'throw':
        throw new Error(`${name} refuses ${r.v}`);
      case 'async':
        return Promise.resolve(next(5));
      case 'async-drop':
        return Promise.resolve(undefined);
      case 'async-array':
        return Promise.resolve([next(6), next(7)]);
      case 'async-reject':
        return Promise.reject(new Error(`${name} rejects ${r.v}`));
      case 'lookup':
        // `ctx.input` finds the type by the current record's key field (`g`): g0 and g1 are
        // there. Without a store for the type it throws, a dead letter either way.
        return ctx.input<string>('Seen').then((found) => {
          const expected = { g0: 'zero', g1: 'one' }[r.g];
          if (found !== expected) wrong.push(`${name}: ctx.input found ${found} for ${r.g}`);
          return next(found === undefined ? 8 : 9);
        });
    }
  };
}

function flowOf(keyed: boolean) {
  const template = inferTemplate(
    parseFlow(
      [
        'name: chained',
        'streams:',
        '  items: { type: T0 }',
        'functions:',
        `  - { name: a, input: [T0], output: [T1]${keyed ? ', key: g' : ''} }`,
        '  - { name: b, input: [T1], output: [T2] }',
        '  - { name: c, input: [T2], output: [T3] }',
        '',
      ].join('\n'),
      'flow.yaml',
    ),
  );
  return compileGraph(
    template,
    template.nodes.map((n) => n.id),
    ['source:items'],
    {},
  );
}

/** Runs `batches` through a fresh executor; what came out, what was dead-lettered, the stats. */
async function run(
  keyed: boolean,
  functions: Map<string, UserFunction>,
  batches: Rec[][],
  chaining: boolean,
  seen?: DataStore,
) {
  const sunk: unknown[] = [];
  const dead: string[] = [];
  const executor = new BatchExecutor({
    graph: flowOf(keyed),
    template: 'chained',
    functions,
    stores: new Map(),
    stateStores: new Map(),
    lookups: new Map(seen === undefined ? [] : [['Seen', { store: seen, key: 'g' }]]),
    partition: 0,
    partitions: 1,
    chaining,
    outlets: {
      exchange: () => undefined,
      sink: (_node, _type, record) => sunk.push(record),
      dead: (node, record, error, position) =>
        dead.push(JSON.stringify([node, record, String(error), position])),
      stored: () => undefined,
    },
  });
  let at = 0;
  for (const batch of batches) {
    const pos = batch.map(() => at++);
    await executor.runSource('source:items', batch.slice(), pos, false);
  }
  const counts = Object.fromEntries(
    Object.entries(executor.stats).map(([node, s]) => [
      node,
      [s.records_in, s.records_out, s.dead_lettered],
    ]),
  );
  return { sunk, dead: dead.sort(), counts };
}

describe('nodes chained record by record', () => {
  it('give what the same nodes give batch by batch, whatever their functions return', async () => {
    const store = await openStore('seen', { kind: 'memory' });
    await store.put('type/Seen', 'g0', 'zero');
    await store.put('type/Seen', 'g1', 'one');
    const actions = fc.array(fc.constantFrom(...ACTIONS), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(actions, actions, actions),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.array(fc.nat(996), { maxLength: 12 }), { minLength: 1, maxLength: 40 }),
        async ([a, b, c], keyed, lookups, values) => {
          const wrong: string[] = [];
          const functions = new Map([
            ['a', behaving('a', a, keyed, wrong)],
            ['b', behaving('b', b, false, wrong)],
            ['c', behaving('c', c, false, wrong)],
          ]);
          const batches = values.map((vs) => vs.map((v) => ({ v, g: `g${v % 5}` })));
          const seen = lookups ? store : undefined;
          const chained = await run(keyed, functions, batches, true, seen);
          const apart = await run(keyed, functions, batches, false, seen);
          expect(wrong).toEqual([]);
          expect(chained.sunk).toEqual(apart.sunk);
          expect(chained.dead).toEqual(apart.dead);
          expect(chained.counts).toEqual(apart.counts);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("share the chain's CPU time out by what each node costs a record", async () => {
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const functions = new Map<string, UserFunction>([
      // a costs ~50 µs a record, b and c next to nothing.
      [
        'a',
        (r: unknown) => {
          spin(0.05);
          return r;
        },
      ],
      ['b', (r: unknown) => r],
      ['c', (r: unknown) => r],
    ]);
    const batches = Array.from({ length: 32 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => ({ v: b * 20 + i, g: 'g0' })),
    );
    const executor = new BatchExecutor({
      graph: flowOf(false),
      template: 'chained',
      functions,
      stores: new Map(),
      stateStores: new Map(),
      lookups: new Map(),
      partition: 0,
      partitions: 1,
      outlets: {
        exchange: () => undefined,
        sink: () => undefined,
        dead: () => undefined,
        stored: () => undefined,
      },
    });
    let at = 0;
    for (const batch of batches)
      await executor.runSource(
        'source:items',
        batch,
        batch.map(() => at++),
        false,
      );
    const { a, b, c } = executor.stats;
    // 640 records at ~50 µs: ~32 ms of CPU, nearly all of it a's.
    expect(a.busy_ms).toBeGreaterThan(20);
    expect(a.busy_ms).toBeGreaterThan(5 * (b.busy_ms + c.busy_ms));
    expect([a.records_in, b.records_in, c.records_in]).toEqual([640, 640, 640]);
  });

  it('are runs of nodes whose records all go to the next one, and only there', () => {
    const chains = (lines: string[]) => {
      const template = inferTemplate(
        parseFlow(
          ['name: f', 'streams:', '  s: { type: A }', 'functions:', ...lines, ''].join('\n'),
          'f.yaml',
        ),
      );
      const graph = compileGraph(
        template,
        template.nodes.map((n) => n.id),
        template.nodes.filter((n) => n.kind === 'source').map((n) => n.id),
        {},
      );
      return chainsOf(graph).map((chain) => chain.map((node) => node.id).join('>'));
    };
    expect(
      chains([
        '  - { name: a, input: [A], output: [B] }',
        '  - { name: b, input: [B], output: [C] }',
        '  - { name: c, input: [C], output: [D] }',
      ]),
    ).toEqual(['a>b>c']);
    // A keyed node starts a chain, never continues one (its records are partitioned first).
    expect(
      chains([
        '  - { name: a, input: [A], output: [B] }',
        '  - { name: b, input: [B], output: [C], key: k }',
        '  - { name: c, input: [C], output: [D] }',
      ]),
    ).toEqual(['b>c']);
    // Two consumers of B: a's records go to both, so a chains with neither.
    expect(
      chains([
        '  - { name: a, input: [A], output: [B] }',
        '  - { name: b, input: [B], output: [C] }',
        '  - { name: c, input: [B], output: [D] }',
      ]),
    ).toEqual([]);
    // Two producers of B: b takes records from both, so neither chains into it.
    expect(
      chains([
        '  - { name: a, input: [A], output: [B] }',
        '  - { name: a2, input: [A], output: [B] }',
        '  - { name: b, input: [B], output: [C] }',
      ]),
    ).toEqual([]);
    // Two output types: a's records are routed by type.
    expect(
      chains([
        '  - { name: a, input: [A], output: [B, C] }',
        '  - { name: b, input: [B], output: [D] }',
        '  - { name: c, input: [C], output: [E] }',
      ]),
    ).toEqual([]);
  });
});
