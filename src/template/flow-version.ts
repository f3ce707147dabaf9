import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { StoreSpec, Template } from './types.js';

const codeHashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** sha256 of a module file, cached while its mtime and size stay the same; '' when unreadable. */
function hashFile(file: string): string {
  try {
    const stat = statSync(file);
    const cached = codeHashes.get(file);
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size)
      return cached.hash;
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    codeHashes.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, hash });
    return hash;
  } catch {
    return '';
  }
}

/**
 * The version of a flow as pools and workers know it: a hash of the template's shape, each
 * function's module (path, export and the hash of the file's content) and the store catalogue.
 * A warm pool serves only the version it was filled for, so re-registering a flow with new code
 * under the same name never runs the old code. (A module's own imports are covered when the
 * code comes as a bundle: its folder is content-addressed; otherwise only the module file is.)
 *
 * ```ts
 * flowVersion(flow) === flowVersion(sameFlowReloaded); // true until a function's code changes
 * ```
 */
export function flowVersion(flow: {
  template: Pick<Template, 'nodes' | 'edges'>;
  functions: ReadonlyArray<{ name: string; module: string | null; export: string }>;
  spec?: { stores?: Record<string, StoreSpec> };
}): string {
  const nodes = flow.template.nodes
    .map((n) => [n.id, n.kind, n.type ?? '', n.key ?? '', n.data_store ?? ''].join('\u0001'))
    .sort();
  const edges = flow.template.edges.map((e) => [e.from, e.to, e.type].join('\u0001')).sort();
  const code = flow.functions
    .map((f) => [f.name, f.module ?? '', f.export, f.module === null ? '' : hashFile(f.module)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const stores = Object.entries(flow.spec?.stores ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify({ nodes, edges, code, stores }))
    .digest('hex')
    .slice(0, 32);
}
