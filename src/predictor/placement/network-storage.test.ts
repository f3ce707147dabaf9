import { describe, expect, it } from 'vitest';
import { templateOf } from '../../../test/helpers/template-of.js';
import type { Template } from '../../template/types.js';
import type { NodeRates } from '../rates/dag-rates.js';
import { nodeTraffic, storageTypeOf, toMbps, type StorageType } from './network-storage.js';

const template: Template = templateOf(
  't',
  ['source:items -Item-> enrich', 'enrich -Enriched-> count', 'count -Counted-> write:Counted'],
  { count: { key: 'user' } },
);

function rate(
  node_id: string,
  inRate: number,
  inSize: number,
  outRate = inRate,
  outSize = inSize,
): NodeRates {
  return {
    node_id,
    kind: template.nodes.find((n) => n.id === node_id)!.kind,
    input_rate: inRate,
    output_rate: outRate,
    input_record_size: inSize,
    output_record_size: outSize,
    fed_by: [],
  };
}

const rates = new Map([
  ['source:items', rate('source:items', 1000, 200)],
  ['enrich', rate('enrich', 1000, 200, 1000, 500)],
  ['count', rate('count', 1000, 500, 1000, 100)],
  ['write:Counted', rate('write:Counted', 1000, 100)],
]);

describe('storageTypeOf', () => {
  it('maps store kinds to where the data lives', () => {
    const fn = { kind: 'function' as const };
    expect(storageTypeOf('memory', fn)).toBe('memory');
    expect(storageTypeOf('sqlite', fn)).toBe('local_disk');
    for (const kind of ['redis', 'postgres', 'nats', 'redis-stream'] as const)
      expect(storageTypeOf(kind, fn)).toBe('network_store');
    expect(storageTypeOf(undefined, fn)).toBe('memory');
    expect(storageTypeOf(undefined, { kind: 'write' })).toBe('local_disk');
  });
});

describe('nodeTraffic', () => {
  const storage = new Map<string, StorageType>([['write:Counted', 'local_disk']]);

  it('counts only what crosses: on one resource, the source in and the sink out', () => {
    const ctx = { template, groups: [template.nodes.map((n) => n.id)], storage };
    const bytes = template.nodes.map((n) => nodeTraffic(n, rates, ctx).bytes_per_second);
    expect(bytes).toEqual([200_000, 0, 0, 100_000]);
  });

  it('counts records between resources on both sides, and state in a network store', () => {
    const ctx = {
      template,
      groups: [
        ['source:items', 'enrich'],
        ['count', 'write:Counted'],
      ],
      storage: new Map([...storage, ['count', 'network_store' as const]]),
      stateBytesPerAccess: new Map([['count', 64]]),
    };
    const enrich = nodeTraffic(template.nodes[1], rates, ctx);
    const count = nodeTraffic(template.nodes[2], rates, ctx);
    expect(enrich).toEqual({ bytes_per_second: 500_000, crossings: ['node enrich -> count'] });
    expect(count.bytes_per_second).toBe(500_000 + 2 * 1000 * 64);
    expect(count.crossings).toEqual(['node enrich -> count', 'state in a network store']);
  });

  it('a write to a memory store crosses nothing', () => {
    const ctx = {
      template,
      groups: [template.nodes.map((n) => n.id)],
      storage: new Map([['write:Counted', 'memory' as const]]),
    };
    expect(nodeTraffic(template.nodes[3], rates, ctx).bytes_per_second).toBe(0);
  });
});

describe('toMbps', () => {
  it('is bytes × 8 / 10⁶, rounded up to a thousandth', () => {
    expect(toMbps(125_000)).toBe(1);
    expect(toMbps(1)).toBe(0.001);
    expect(toMbps(0)).toBe(0);
  });
});
