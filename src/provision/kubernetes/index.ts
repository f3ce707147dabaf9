/** The Kubernetes provider: worker pods in a locked-down namespace per tenant. */
import { createKubeApi, type KubeApi } from './kube-api.js';
import { KubernetesProvider, type KubernetesProviderConfig } from './kubernetes-provider.js';

export { KubernetesProvider } from './kubernetes-provider.js';
export type { KubernetesProviderConfig } from './kubernetes-provider.js';
export { createKubeApi, MERGE_PATCH } from './kube-api.js';
export type { KubeApi, KubeObject, KubeObjectRef, ObjectApi, WatchApi } from './kube-api.js';
export { PodWatcher } from './pod-watcher.js';
export { viewPod } from './pod-view.js';
export type { PodView } from './pod-view.js';
export { apiFailure, toWarmflowError as kubernetesError } from './kubernetes-errors.js';
export { readCapacity } from './quota-capacity.js';
export { flowProvisionRequests, TOKEN_PLACEHOLDER } from './flow-requests.js';
export * from './manifests/index.js';
export { dnsLabel, isDns1123Label, isLabelValue, labelValue } from './names.js';
export { parseQuantity, cpuQuantity, memoryQuantity } from './quantity.js';

/** Options of {@link createKubernetesProvider}: the provider's, with the client optional. */
export type KubernetesProviderOptions = Omit<KubernetesProviderConfig, 'api'> & {
  /** A ready client (tests, custom auth); default: built from the kubeconfig below. */
  api?: KubeApi;
  /** Kubeconfig file; default `KUBECONFIG`, `~/.kube/config`, else the in-cluster service account. */
  kubeconfig?: string;
};

/**
 * Creates the Kubernetes provider, loading `@kubernetes/client-node` and the kubeconfig
 * (what `warmflow serve --provider kubernetes` calls).
 *
 * ```ts
 * const provider = await createKubernetesProvider({
 *   manifests: { image: 'registry.example.com/warmflow-worker:0.1.0', nodeSelector: { pool: 'warm' } },
 *   quotas: (tenant) => (tenant === 'big' ? { cpu_cores: 64, memory_gb: 256 } : undefined),
 * });
 * ```
 */
export async function createKubernetesProvider(
  options: KubernetesProviderOptions = {},
): Promise<KubernetesProvider> {
  const { api, kubeconfig, ...config } = options;
  const client = api ?? (await createKubeApi(kubeconfig === undefined ? {} : { kubeconfig }));
  return new KubernetesProvider({ ...config, api: client });
}
