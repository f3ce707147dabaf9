/**
 * The structural subset of `@kubernetes/client-node` 1.x the provider uses: the generic
 * `KubernetesObjectApi` (create / patch / read / list / delete any kind) and `Watch`. Typed
 * this way the client stays an implementation detail: a test can hand in anything that
 * speaks these few methods, and the real client is only loaded when a provider is created.
 */

/** A Kubernetes object as the API sends and takes it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    deletionTimestamp?: unknown;
  };
  [field: string]: unknown;
}

/** What identifies an object for read and delete. */
export interface KubeObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The subset of `KubernetesObjectApi` used (positional arguments, as the client has them). */
export interface ObjectApi {
  create(spec: KubeObject): Promise<KubeObject>;
  patch(
    spec: KubeObject,
    pretty?: string,
    dryRun?: string,
    fieldManager?: string,
    force?: boolean,
    patchStrategy?: string,
  ): Promise<KubeObject>;
  read(spec: KubeObjectRef): Promise<KubeObject>;
  delete(
    spec: KubeObjectRef,
    pretty?: string,
    dryRun?: string,
    gracePeriodSeconds?: number,
  ): Promise<unknown>;
  list(
    apiVersion: string,
    kind: string,
    namespace?: string,
    pretty?: string,
    exact?: boolean,
    exportt?: boolean,
    fieldSelector?: string,
    labelSelector?: string,
  ): Promise<{ items: KubeObject[]; metadata?: { resourceVersion?: string } }>;
}

/** The subset of `Watch` used. `done` is called once, with the error or null when the server closed. */
export interface WatchApi {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, object: KubeObject) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }>;
}

/** The client a {@link KubernetesProvider} talks through. */
export interface KubeApi {
  objects: ObjectApi;
  watch: WatchApi;
  /** The API server's URL from the kubeconfig, when known (its address gets no worker egress). */
  server?: string;
}

/** The JSON merge patch content type (the client's `PatchStrategy.MergePatch`). */
export const MERGE_PATCH = 'application/merge-patch+json';

/** Pods in every namespace matching `labelSelector`: the list, with its `resourceVersion`. */
export function listPods(api: KubeApi, labelSelector: string): ReturnType<ObjectApi['list']> {
  return api.objects.list(
    'v1',
    'Pod',
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    labelSelector,
  );
}

/**
 * Builds the real client from a kubeconfig: `KUBECONFIG`, `~/.kube/config`, else the in-cluster
 * service account (what `KubeConfig.loadFromDefault` does), or from a kubeconfig file or
 * YAML string when given.
 */
export async function createKubeApi(
  source: { kubeconfig?: string; kubeconfigYaml?: string } = {},
): Promise<KubeApi> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (source.kubeconfigYaml !== undefined) config.loadFromString(source.kubeconfigYaml);
  else if (source.kubeconfig !== undefined) config.loadFromFile(source.kubeconfig);
  else config.loadFromDefault();
  const server = config.getCurrentCluster()?.server;
  return {
    objects: k8s.KubernetesObjectApi.makeApiClient(config) as unknown as ObjectApi,
    watch: new k8s.Watch(config),
    ...(server === undefined ? {} : { server }),
  };
}
