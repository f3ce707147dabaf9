import { describe, expect, it } from 'vitest';
import type { Rpr } from '../../predictor/rpr.js';
import { planGroups } from '../../template/placement-groups.js';
import { mergeRprs, planResources, type PoolFlow } from './resource-plan.js';
import { templateOf } from '../../../test/helpers/template-of.js';

const rpr = (
  node_id: string,
  cpu_cores: number,
  memory_gb: number,
  store: string | null = null,
): Rpr => ({
  node_id,
  resource_type: 'CPU',
  cpu_cores,
  memory_gb,
  gpu_enabled: false,
  data_store_instance: store,
});

const flow: PoolFlow = {
  template: templateOf('f', ['source:s -S-> a', 'b -T-> write:T']),
  functions: [
    { name: 'a', module: '/abs/a.ts', export: 'a' },
    { name: 'b', module: '/abs/b.ts', export: 'bee' },
  ],
  spec: { stores: { db: { kind: 'sqlite', path: './out/db.sqlite' }, cache: { kind: 'memory' } } },
  dir: '/flows/f',
};

describe('planResources', () => {
  it('plans one resource per placement group by default, with its modules and stores', () => {
    // The source and write nodes have no RPR here (a hand-written file): they ride along.
    const plans = planResources(flow, [rpr('a', 1, 1, 'db'), rpr('b', 0.5, 0.5)]);
    expect(plans.map((p) => p.node_ids)).toEqual(planGroups(flow.template));
    expect(plans.map((p) => p.node_ids)).toEqual([
      ['source:s', 'a'],
      ['b', 'write:T'],
    ]);
    expect(plans[0].warm.functions).toEqual([{ node_id: 'a', module: '/abs/a.ts', export: 'a' }]);
    expect(plans[0].warm.stores).toEqual({
      db: { kind: 'sqlite', path: '/flows/f/out/db.sqlite' },
    });
    expect(plans[1].warm.functions[0].export).toBe('bee');
  });

  it('merges a group: cores summed and rounded up, memory summed, stores united', () => {
    const [plan] = planResources(
      flow,
      [rpr('a', 0.6, 1, 'db'), rpr('b', 0.6, 0.5, 'cache')],
      [['a', 'b']],
    );
    expect(plan.rpr).toMatchObject({
      node_id: 'a+b',
      cpu_cores: 2,
      memory_gb: 1.5,
      data_store_instance: 'db+cache',
    });
    expect(Object.keys(plan.warm.stores).sort()).toEqual(['cache', 'db']);
    expect(plan.warm.functions).toHaveLength(2);
  });

  it('reports every problem at once', () => {
    expect(() =>
      planResources(
        flow,
        [rpr('a', 1, 1)],
        [
          ['a', 'zzz'],
          ['a', 'b'],
        ],
      ),
    ).toThrow(
      /node "zzz" is not in template[\s\S]*node "a" is in two groups[\s\S]*no RPR for node "b"/,
    );
  });

  it('refuses a function without a module', () => {
    const bare: PoolFlow = {
      ...flow,
      functions: [{ name: 'a', module: null, export: 'a' }, flow.functions[1]],
    };
    expect(() => planResources(bare, [rpr('a', 1, 1), rpr('b', 1, 1)])).toThrow(
      /function "a" names no module/,
    );
  });
});

describe('mergeRprs', () => {
  it('marks a group GPU when any member is', () => {
    const merged = mergeRprs([rpr('a', 1, 1), { ...rpr('b', 1, 1), gpu_enabled: true }]);
    expect(merged.gpu_enabled).toBe(true);
    expect(merged.resource_type).toBe('GPU');
  });
});
