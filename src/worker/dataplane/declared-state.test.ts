import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../stores/open-store.js';
import type { DataStore } from '../../stores/store.js';
import type { FunctionContext, UserFunction } from '../../template/function-api.js';
import { inferTemplate } from '../../template/infer-template.js';
import { parseFlow } from '../../template/parse-flow.js';
import { BatchExecutor } from './batch-executor.js';
import { compileGraph } from './node-graph.js';

const template = inferTemplate(
  parseFlow(
    [
      'name: tally',
      'streams:',
      '  buys: { type: Purchase }',
      'functions:',
      '  - { name: count, input: [Purchase], output: [Tally], key: user, state: [n, cents] }',
      '',
    ].join('\n'),
    'flow.yaml',
  ),
);
const graph = compileGraph(
  template,
  template.nodes.map((n) => n.id),
  ['source:buys'],
  {},
);

/** Counts and sums per user with the synchronous state calls; emits nothing. */
const count: UserFunction = (p: { cents: number }, ctx: FunctionContext) => {
  ctx.state.write('n', (ctx.state.read<number>('n') ?? 0) + 1);
  ctx.state.write('cents', (ctx.state.read<number>('cents') ?? 0) + p.cents);
  return undefined;
};

interface Dead {
  node: string;
  error: unknown;
}

function executor(
  fn: UserFunction,
  options: { checkpoints: boolean; state?: DataStore },
  dead: Dead[] = [],
): BatchExecutor {
  return new BatchExecutor({
    graph,
    template: 'tally',
    functions: new Map([['count', fn]]),
    stores: new Map(),
    stateStores: new Map(options.state === undefined ? [] : [['count', options.state]]),
    lookups: new Map(),
    partition: 0,
    partitions: 1,
    checkpoints: options.checkpoints,
    outlets: {
      exchange: () => undefined,
      sink: () => undefined,
      dead: (node, _record, error) => dead.push({ node, error }),
      stored: () => undefined,
    },
  });
}

/** `n` purchases over `users` users: user `u{i % users}` spends `i` cents. */
function purchases(n: number, users: number, from = 0) {
  const recs = Array.from({ length: n }, (_, k) => ({
    user: `u${(from + k) % users}`,
    cents: from + k,
  }));
  return { recs, pos: recs.map((_, k) => (from + k) * 10) };
}

/** What the state should hold after purchases 0..n-1 over `users` users. */
function expected(n: number, users: number): Map<string, { n: number; cents: number }> {
  const out = new Map<string, { n: number; cents: number }>();
  for (let i = 0; i < n; i++) {
    const e = out.get(`u${i % users}`) ?? { n: 0, cents: 0 };
    out.set(`u${i % users}`, { n: e.n + 1, cents: e.cents + i });
  }
  return out;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-declared-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('declared state, read and written synchronously', () => {
  it('in the thread (a checkpointed run): every key counted across batches', async () => {
    const ex = executor(count, { checkpoints: true });
    for (let b = 0; b < 4; b++) {
      const { recs, pos } = purchases(250, 37, b * 250);
      await ex.runSource('source:buys', recs, pos, false);
    }
    const held = new Map(ex.handover().count);
    for (const [user, e] of expected(1000, 37)) {
      expect(held.get(`${user}\u0000n`)).toBe(e.n);
      expect(held.get(`${user}\u0000cents`)).toBe(e.cents);
    }
    expect(ex.stats.count).toMatchObject({ records_in: 1000, dead_lettered: 0 });
  });

  it('in a store: a fresh executor reads what an earlier one stored, from its first batch on', async () => {
    const store = await openStore('state', { kind: 'sqlite', path: path.join(dir, 'state.db') });
    try {
      const first = executor(count, { checkpoints: false, state: store });
      const a = purchases(300, 11);
      await first.runSource('source:buys', a.recs, a.pos, false);
      await first.flushState();
      // A new executor (another run, another resource) over the same store.
      const second = executor(count, { checkpoints: false, state: store });
      const b = purchases(200, 11, 300);
      await second.runSource('source:buys', b.recs, b.pos, false);
      await second.flushState();
      expect(second.stats.count).toMatchObject({ records_in: 200, dead_lettered: 0 });
      for (const [user, e] of expected(500, 11)) {
        expect(await store.get('state/tally/count', `${user}\u0000n`)).toBe(e.n);
        expect(await store.get('state/tally/count', `${user}\u0000cents`)).toBe(e.cents);
      }
    } finally {
      await store.close();
    }
  });

  it('refuses a name the function does not declare: the record is a dead letter saying which', async () => {
    const undeclared: UserFunction = (_p, ctx) => {
      ctx.state.write('total', 1);
      return undefined;
    };
    const dead: Dead[] = [];
    const ex = executor(undeclared, { checkpoints: true }, dead);
    const { recs, pos } = purchases(3, 2);
    await ex.runSource('source:buys', recs, pos, false);
    expect(dead).toHaveLength(3);
    expect(String(dead[0].error)).toMatch(/"count".*"total".*does not declare it/);
    expect((dead[0].error as { code?: string }).code).toBe('E_STATE');
  });

  it('awaited get and set see the same values as read and write', async () => {
    const mixed: UserFunction = async (p: { cents: number }, ctx: FunctionContext) => {
      const n = (await ctx.state.get<number>('n')) ?? 0;
      await ctx.state.set('n', n + 1);
      ctx.state.write('cents', (ctx.state.read<number>('cents') ?? 0) + p.cents);
      return undefined;
    };
    const ex = executor(mixed, { checkpoints: true });
    const { recs, pos } = purchases(100, 7);
    await ex.runSource('source:buys', recs, pos, false);
    const held = new Map(ex.handover().count);
    for (const [user, e] of expected(100, 7)) {
      expect(held.get(`${user}\u0000n`)).toBe(e.n);
      expect(held.get(`${user}\u0000cents`)).toBe(e.cents);
    }
  });
});
