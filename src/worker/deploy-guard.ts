import { isDeepStrictEqual } from 'node:util';
import { WarmflowError } from '../errors.js';
import { isInside, realPathOf } from '../tenancy/tenant-area.js';
import type { WorkerGrant } from '../template/types.js';
import type { DeploySpec } from './dataplane/deploy-spec.js';

function refuse(what: string): never {
  throw new WarmflowError('E_DEPLOY_REFUSED', `deployment refused: ${what}`, {
    hint: 'a worker runs only its own tenant and flow version, with the sources and stores granted to it',
  });
}

function readable(grant: WorkerGrant, file: string): boolean {
  const real = realPathOf(file);
  return grant.read.some((dir) => isInside(dir, file) && isInside(realPathOf(dir), real));
}

/**
 * Checks a `df.run` DeploySpec against the worker's grant before anything of it runs: same tenant
 * and flow version, only nodes this worker serves, file sources and seeds inside the granted
 * folders, and no store other than the granted instances (a fresh `memory` store excepted). So a
 * stolen token alone cannot make the worker read another path or talk to another store.
 */
export function checkDeploySpec(
  spec: DeploySpec,
  grant: WorkerGrant,
  nodeIds: readonly string[],
): void {
  if (spec.tenant !== grant.tenant) refuse('it is for another tenant');
  if (spec.version !== grant.version) refuse('it is for another flow version');
  if (!Array.isArray(spec.node_ids) || spec.node_ids.some((id) => !nodeIds.includes(id)))
    refuse('it names nodes this worker does not serve');
  for (const source of spec.sources ?? []) {
    if (
      source.mode === 'file' &&
      (typeof source.path !== 'string' || !readable(grant, source.path))
    )
      refuse(`source of node "${source.node_id}" is outside what the tenant may read`);
  }
  for (const seed of spec.seeds ?? []) {
    if (typeof seed.file !== 'string' || !readable(grant, seed.file))
      refuse(`seed of type "${seed.type}" is outside what the tenant may read`);
  }
  for (const [name, store] of Object.entries(spec.stores ?? {})) {
    if (store.kind === 'memory' && Object.keys(store).length === 1) continue;
    if (!isDeepStrictEqual(store, grant.stores[name])) refuse(`store "${name}" was not granted`);
  }
}
