import { createHash } from 'node:crypto';
import type { Template } from '../../template/types.js';

/**
 * A stable hash of a template's structure — its nodes (id, kind, type, key, store)
 * and typed edges, in a canonical order, without the template's name — for
 * `RunRecord.template_fingerprint`: a renamed flow of the same shape matches, a
 * reordered flow file does not change it, and a changed shape does.
 */
export function templateFingerprint(template: Pick<Template, 'nodes' | 'edges'>): string {
  const nodes = template.nodes
    .map((n) => [n.id, n.kind, n.type ?? '', n.key ?? '', n.data_store ?? ''].join('\u0001'))
    .sort();
  const edges = template.edges.map((e) => [e.from, e.to, e.type].join('\u0001')).sort();
  return createHash('sha256').update(JSON.stringify({ nodes, edges })).digest('hex');
}
