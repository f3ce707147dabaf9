import { describe, expect, it } from 'vitest';
import { templateOf } from '../../test/helpers/template-of.js';
import { templateFingerprint } from './template-fingerprint.js';
import type { Template } from '../template/types.js';

const template: Template = templateOf(
  'clicks',
  ['source:clicks -Click-> count', 'count -Count-> write:Count'],
  { count: { key: 'user_id' }, 'write:Count': { data_store: 'redis' } },
);

describe('templateFingerprint', () => {
  it('ignores the name and the order of nodes and edges', () => {
    const renamed = {
      ...template,
      name: 'other',
      nodes: [...template.nodes].reverse(),
      edges: [...template.edges].reverse(),
    };
    expect(templateFingerprint(renamed)).toBe(templateFingerprint(template));
  });

  it('changes when the shape changes', () => {
    const rekeyed = {
      ...template,
      nodes: template.nodes.map((n) => (n.id === 'count' ? { ...n, key: 'session' } : n)),
    };
    const restored = {
      ...template,
      nodes: template.nodes.map((n) => (n.kind === 'write' ? { ...n, data_store: 'pg' } : n)),
    };
    expect(templateFingerprint(rekeyed)).not.toBe(templateFingerprint(template));
    expect(templateFingerprint(restored)).not.toBe(templateFingerprint(template));
    expect(templateFingerprint(template)).toMatch(/^[0-9a-f]{64}$/);
  });
});
