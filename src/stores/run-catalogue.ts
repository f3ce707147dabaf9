import path from 'node:path';
import type { StoreSpec } from '../template/types.js';

/** The store catalogue of a run: the flow's, with overrides, sqlite paths absolute. */
export function runStores(
  flow: { dir: string; spec: { stores?: Record<string, StoreSpec> } },
  overrides: Record<string, StoreSpec> = {},
): Record<string, StoreSpec> {
  const stores: Record<string, StoreSpec> = {};
  for (const [name, spec] of Object.entries({ ...(flow.spec.stores ?? {}), ...overrides })) {
    stores[name] =
      spec.kind === 'sqlite' && spec.path !== undefined && spec.path !== ':memory:'
        ? { ...spec, path: path.resolve(flow.dir, spec.path) }
        : { ...spec };
  }
  return stores;
}
