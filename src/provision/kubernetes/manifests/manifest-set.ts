import { Secret } from 'kubernetes-models/v1/Secret';
import { stringify } from 'yaml';
import type { ProvisionRequest } from '../../provider.js';
import type { KubeManifest } from './manifest-checks.js';
import { assertManifests } from './manifest-checks.js';
import type { ManifestOptions, TenantQuotas } from './manifest-options.js';
import { buildPoolSecret, buildStoreEgressPolicies } from './pool-manifests.js';
import { buildTenantManifests } from './tenant-manifests.js';
import { buildWorkerPod } from './worker-pod.js';

/** What one provisioned resource needs, grouped by how long each part lives. */
export interface ProvisionManifests {
  /** Per tenant, shared by all its pools: namespace, quota, limits, base policies, service account. */
  tenant: KubeManifest[];
  /** Per pool (tenant + template): the Secret (token, WarmSpecs) and the data-store egress policies. */
  pool: KubeManifest[];
  /** Per resource: the worker pod. */
  pod: KubeManifest;
}

/**
 * Builds and checks everything the provider applies for one request, in apply order
 * (namespace before its contents, Secret before the pod that reads it). Throws a
 * ValidationError listing every problem if any object fails the checks.
 */
export function buildProvisionManifests(
  request: ProvisionRequest,
  resourceId: string,
  quotas: TenantQuotas,
  options: ManifestOptions,
): ProvisionManifests {
  const tenant = buildTenantManifests(request.tenant, quotas, options);
  const pool: KubeManifest[] = [
    buildPoolSecret(request.tenant, request.template, request.token, [request.warm], options),
    ...buildStoreEgressPolicies(request.tenant, request.template, request.warm.stores, options),
  ];
  const { token: _token, ...podInput } = request;
  const pod = buildWorkerPod({ ...podInput, resourceId }, options);
  assertManifests([...tenant, ...pool, pod]);
  return { tenant, pool, pod };
}

/**
 * Flattens manifest groups into one list in apply order, dropping repeats of the same object;
 * repeats of a pool Secret are merged (each adds its pod's WarmSpec), as the provider's
 * merge patches merge them on the cluster.
 */
export function applyOrder(groups: readonly ProvisionManifests[]): KubeManifest[] {
  const seen = new Map<string, KubeManifest>();
  const out: KubeManifest[] = [];
  const take = (manifest: KubeManifest) => {
    const key = `${manifest.kind}/${manifest.metadata?.namespace ?? ''}/${manifest.metadata?.name ?? ''}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, manifest);
      out.push(manifest);
    } else if (first instanceof Secret && manifest instanceof Secret) {
      first.stringData = { ...first.stringData, ...manifest.stringData };
    }
  };
  for (const group of groups) group.tenant.forEach(take);
  for (const group of groups) group.pool.forEach(take);
  for (const group of groups) take(group.pod);
  return out;
}

/** Multi-document YAML, as `kubectl apply -f -` reads it. */
export function toYaml(manifests: readonly KubeManifest[]): string {
  return manifests.map((manifest) => stringify(manifest.toJSON(), { lineWidth: 0 })).join('---\n');
}
