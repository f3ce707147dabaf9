import type { IToleration } from 'kubernetes-models/v1/Toleration';

/** Per-tenant limits turned into the namespace's ResourceQuota and LimitRange. */
export interface TenantQuotas {
  /** CPU cores all the tenant's pods may request (and limit) together. */
  cpu_cores: number;
  /** Memory in GiB all the tenant's pods may request (and limit) together. */
  memory_gb: number;
  /** Pods the tenant may run at once. */
  pods: number;
  /** `nvidia.com/gpu` the tenant may request; 0 forbids GPU pods. */
  gpus: number;
}

/** What a new tenant gets when nothing else is said. */
export const DEFAULT_TENANT_QUOTAS: Readonly<TenantQuotas> = Object.freeze({
  cpu_cores: 16,
  memory_gb: 64,
  pods: 50,
  gpus: 0,
});

/**
 * Who may talk to workers: the orchestrator, either as pods (namespace + labels, when
 * `warmflow serve` runs in the cluster) or as a CIDR (when it runs outside and reaches pod IPs
 * through routing or a VPN).
 */
export type OrchestratorPeer =
  { namespace: string; podLabels: Record<string, string> } | { cidr: string };

/** Everything about the cluster the manifests depend on; {@link resolveManifestOptions} fills defaults. */
export interface ManifestOptions {
  /** Worker image (see the Dockerfile). */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Tenant namespaces are `<prefix><tenant>-<hash>`. */
  namespacePrefix: string;
  /** TCP port the worker listens on inside the pod. */
  workerPort: number;
  nodeSelector: Record<string, string>;
  tolerations: IToleration[];
  orchestrator: OrchestratorPeer;
  /** Where cluster DNS runs, for the DNS egress policy. */
  dns: { namespace: string; podLabels: Record<string, string> };
  /** Size limit of the writable `/tmp` emptyDir. */
  tmpSizeLimit: string;
  /** Seconds between readiness probes (how soon a warm pod is seen Ready). */
  readinessPeriodSeconds: number;
  /**
   * Addresses (IPs or CIDRs) no worker gets egress to whatever a store names: the cluster's API
   * server (the provider adds its address from the kubeconfig) and any range the admin denies.
   */
  deniedCidrs: string[];
}

/** The default worker image; override with `--image` or `image`. */
export const DEFAULT_IMAGE = 'ghcr.io/warmflow/warmflow-worker:0.1.0';

/** Port the worker listens on inside a pod. */
export const DEFAULT_WORKER_PORT = 7470;

/** Fills the defaults of {@link ManifestOptions}. */
export function resolveManifestOptions(options: Partial<ManifestOptions> = {}): ManifestOptions {
  return {
    image: options.image ?? DEFAULT_IMAGE,
    imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
    namespacePrefix: options.namespacePrefix ?? 'warmflow-',
    workerPort: options.workerPort ?? DEFAULT_WORKER_PORT,
    nodeSelector: options.nodeSelector ?? {},
    tolerations: options.tolerations ?? [],
    orchestrator: options.orchestrator ?? {
      namespace: 'warmflow-system',
      podLabels: {
        'app.kubernetes.io/name': 'warmflow',
        'app.kubernetes.io/component': 'orchestrator',
      },
    },
    dns: options.dns ?? { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
    tmpSizeLimit: options.tmpSizeLimit ?? '1Gi',
    readinessPeriodSeconds: options.readinessPeriodSeconds ?? 2,
    deniedCidrs: options.deniedCidrs ?? [],
  };
}

/** Merges partial quotas over the defaults. */
export function resolveTenantQuotas(quotas: Partial<TenantQuotas> = {}): TenantQuotas {
  return { ...DEFAULT_TENANT_QUOTAS, ...quotas };
}

/**
 * Maps a tenant's quotas as `tenancy/` keeps them (`cores`, `memory_gb`, `warm_resources`)
 * onto its namespace quota: a warm resource is a pod, so `warm_resources` bounds `pods`.
 *
 * ```ts
 * createKubernetesProvider({ quotas: (tenant) => fromTenancyQuotas(registry.get(tenant).quotas) });
 * ```
 */
export function fromTenancyQuotas(quotas: {
  cores?: number;
  memory_gb?: number;
  warm_resources?: number;
}): Partial<TenantQuotas> {
  const mapped: Partial<TenantQuotas> = {};
  if (quotas.cores !== undefined) mapped.cpu_cores = quotas.cores;
  if (quotas.memory_gb !== undefined) mapped.memory_gb = quotas.memory_gb;
  if (quotas.warm_resources !== undefined) mapped.pods = quotas.warm_resources;
  return mapped;
}
