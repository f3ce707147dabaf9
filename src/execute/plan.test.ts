import { describe, expect, it } from 'vitest';
import type { Rpr } from '../predictor/rpr.js';
import type { Template } from '../template/types.js';
import { fitGroupRprs, groupParallelism, planGroups } from './plan.js';

const template: Template = {
  name: 't',
  nodes: [
    { id: 'source:a', kind: 'source', type: 'A' },
    { id: 'f', kind: 'function' },
    { id: 'g', kind: 'function', key: 'k' },
    { id: 'write:C', kind: 'write', type: 'C' },
    { id: 'source:x', kind: 'source', type: 'X' },
    { id: 'h', kind: 'function' },
    { id: 'write:Y', kind: 'write', type: 'Y' },
  ],
  edges: [
    { from: 'source:a', to: 'f', type: 'A' },
    { from: 'f', to: 'g', type: 'B' },
    { from: 'g', to: 'write:C', type: 'C' },
    { from: 'source:x', to: 'h', type: 'X' },
    { from: 'h', to: 'write:Y', type: 'Y' },
  ],
  transactions: [],
};

const rpr = (node_id: string, cpu_cores: number): Rpr => ({
  node_id,
  resource_type: 'CPU',
  cpu_cores,
  memory_gb: 0.5,
  gpu_enabled: false,
  data_store_instance: null,
});

describe('planGroups', () => {
  it('puts each connected part of the template, I/O nodes included, on one resource', () => {
    expect(planGroups(template).map((g) => g.sort())).toEqual([
      ['f', 'g', 'source:a', 'write:C'],
      ['h', 'source:x', 'write:Y'],
    ]);
  });
});

describe('fitGroupRprs', () => {
  it('scales a group that asks for more cores than there are, keeping the shares', () => {
    const groups = planGroups(template);
    const rprs = ['source:a', 'f', 'g', 'write:C'].map((id) => rpr(id, id === 'g' ? 2 : 1));
    const fitted = fitGroupRprs(rprs, groups, 2);
    const total = fitted.reduce((s, r) => s + r.cpu_cores, 0);
    expect(total).toBeLessThanOrEqual(2);
    expect(fitted.find((r) => r.node_id === 'g')!.cpu_cores).toBeCloseTo(
      2 * fitted.find((r) => r.node_id === 'f')!.cpu_cores,
      1,
    );
    expect(groupParallelism(fitted, groups[0])).toBe(2);
  });

  it('leaves a group that fits as it is', () => {
    const rprs = [rpr('h', 0.5), rpr('source:x', 0.25), rpr('write:Y', 0.25)];
    expect(fitGroupRprs(rprs, planGroups(template), 2)).toEqual(rprs);
    expect(groupParallelism(rprs, ['h', 'source:x', 'write:Y'])).toBe(1);
  });
});
