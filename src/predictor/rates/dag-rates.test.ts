import { describe, expect, it } from 'vitest';
import { templateOf } from '../../../test/helpers/template-of.js';
import { propagateRates, topologicalOrder, type RateInputs } from './dag-rates.js';

function inputs(
  overrides: Partial<RateInputs> & {
    sel?: Record<string, number>;
    ratio?: Record<string, number>;
    primary?: Record<string, string>;
    outputs?: Record<string, string[]>;
    rates?: Record<string, number>;
  },
): RateInputs {
  return {
    sourceRate: (n) => overrides.rates?.[n.id] ?? 1000,
    sourceRecordSize: () => 100,
    selectivity: (id) => overrides.sel?.[id] ?? 1,
    sizeRatio: (id) => overrides.ratio?.[id] ?? 1,
    primaryInput: (id) => overrides.primary?.[id],
    outputTypes: (id) => overrides.outputs?.[id],
  };
}

const chain = templateOf('chain', [
  'source:s -Raw-> parse',
  'parse -Click-> filter',
  'filter -Out-> write:Out',
]);

describe('propagateRates', () => {
  it('multiplies rates by each function’s selectivity and sizes by its size ratio along a chain', () => {
    const rates = propagateRates(
      chain,
      inputs({ sel: { parse: 0.9, filter: 0.25 }, ratio: { parse: 0.5, filter: 2 } }),
    );
    expect(rates.get('parse')!.input_rate).toBe(1000);
    expect(rates.get('parse')!.output_rate).toBeCloseTo(900);
    expect(rates.get('filter')!.input_rate).toBeCloseTo(900);
    expect(rates.get('filter')!.input_record_size).toBeCloseTo(50);
    expect(rates.get('write:Out')!.input_rate).toBeCloseTo(225);
    expect(rates.get('write:Out')!.input_record_size).toBeCloseTo(100);
  });

  it('sums producers’ rates at a fan-in and weights record sizes by rate', () => {
    const fanIn = templateOf('fan-in', [
      'source:a -A-> fa',
      'source:b -B-> fb',
      'fa -Order-> join',
      'fb -Order-> join',
    ]);
    const rates = propagateRates(
      fanIn,
      inputs({ rates: { 'source:a': 100, 'source:b': 300 }, sel: { fa: 2 }, ratio: { fb: 3 } }),
    );
    // fa emits 200/s of 100 B, fb 300/s of 300 B.
    expect(rates.get('join')!.input_rate).toBeCloseTo(500);
    expect(rates.get('join')!.input_record_size).toBeCloseTo((200 * 100 + 300 * 300) / 500);
    expect(rates.get('join')!.fed_by.sort()).toEqual(['fa', 'fb']);
  });

  it('broadcasts a type to all its consumers and splits a multi-output function evenly', () => {
    const diamond = templateOf('diamond', [
      'source:s -R-> split',
      'split -L-> left',
      'split -X-> right',
      'split -X-> both',
      'left -Y-> both',
    ]);
    const rates = propagateRates(diamond, inputs({ outputs: { split: ['L', 'X'] } }));
    expect(rates.get('left')!.input_rate).toBeCloseTo(500);
    expect(rates.get('right')!.input_rate).toBeCloseTo(500);
    expect(rates.get('both')!.input_rate).toBeCloseTo(1000);
  });

  it('gives a lookup read node one access per record of its consumer, and a scanned read the source rate', () => {
    const lookups = templateOf(
      'lookups',
      [
        'source:s -Raw-> parse',
        'parse -Click-> enrich',
        'read:Profile -Profile-> enrich',
        'read:Seed -Seed-> load',
      ],
      { 'read:Profile': { data_store: 'profiles' } },
    );
    const rates = propagateRates(
      lookups,
      inputs({
        sel: { parse: 0.5 },
        primary: { enrich: 'Click', load: 'Seed', parse: 'Raw' },
        rates: { 'read:Seed': 40 },
      }),
    );
    expect(rates.get('enrich')!.input_rate).toBeCloseTo(500);
    expect(rates.get('enrich')!.fed_by).toEqual(['parse']);
    expect(rates.get('read:Profile')!.input_rate).toBeCloseTo(500);
    expect(rates.get('read:Profile')!.read_mode).toBe('lookup');
    expect(rates.get('read:Seed')!.read_mode).toBe('scan');
    expect(rates.get('load')!.input_rate).toBe(40);
  });

  it('refuses a cycle, naming its nodes', () => {
    const cyclic = templateOf('c', ['a -X-> b', 'b -Y-> a']);
    expect(() => topologicalOrder(cyclic)).toThrow(/cycle through a, b/);
  });
});
