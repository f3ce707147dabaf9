import { isIP } from 'node:net';
import { WarmflowError } from '../../errors.js';
import type { Capacity, Provider, ProvisionRequest, ResourceEvent } from '../provider.js';
import type { Rac } from '../rac.js';
import type { KubeApi } from './kube-api.js';
import { toWarmflowError } from './kubernetes-errors.js';
import {
  LABEL,
  WORKER_SELECTOR,
  buildProvisionManifests,
  labelsFor,
  resolveManifestOptions,
  resolveTenantQuotas,
  selectorString,
  tenantNamespace,
  workerPodName,
  type ManifestOptions,
  type TenantQuotas,
} from './manifests/index.js';
import { PodWatcher } from './pod-watcher.js';
import { viewPod } from './pod-view.js';
import { PodTracker, type TrackedPod } from './pod-tracker.js';
import { assertQuotaRoom, readCapacity } from './quota-capacity.js';
import { ObjectApplier } from './object-applier.js';

/** Configuration of a {@link KubernetesProvider}. */
export interface KubernetesProviderConfig {
  api: KubeApi;
  /** Image, namespace prefix, worker port, node selector, tolerations, network peers. */
  manifests?: Partial<ManifestOptions>;
  /** Quotas of a tenant's namespace: one set for all, or per tenant (missing fields take the defaults). */
  quotas?: Partial<TenantQuotas> | ((tenant: string) => Partial<TenantQuotas> | undefined);
  /** A pod not Ready by then is deleted and reported with the scheduler's reason. Default 120 s. */
  readyTimeoutMs?: number;
  /**
   * Connect to each ready worker with the pool token and watch its heartbeats (usage events,
   * silence → unhealthy), as the local provider does. Default true; turn off only when the
   * orchestrator cannot reach pod IPs and another component talks to the workers.
   */
  connectToWorkers?: boolean;
  /** Heartbeat interval asked of workers. Default 1 s. */
  heartbeatMs?: number;
}

/**
 * The Kubernetes provider: every resource is a pod running `warmflow worker` in its tenant's
 * locked-down namespace, confirmed (RAC) once the pod is Ready, at `podIP:port`.
 *
 * One list-then-watch over all warmflow worker pods feeds a {@link PodTracker}: provisioning
 * waits on it, and it turns evictions, failures and OOM kills into `exited` events (OOM kills
 * with `oom_killed: true`, so history learns from them) and lost readiness into `unhealthy`.
 * `list()` finds pods by label and adopts them, so a restarted orchestrator picks up its pods.
 *
 * ```ts
 * const provider = await createKubernetesProvider({ manifests: { image: 'registry/warmflow-worker:0.1.0' } });
 * const rac = await provider.provision(request); // rac.network_address === '10.1.2.3:7470'
 * ```
 */
export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  readonly #config: Readonly<{
    api: KubeApi;
    manifests: ManifestOptions;
    quotas: (tenant: string) => TenantQuotas;
    readyTimeoutMs: number;
    connectToWorkers: boolean;
    heartbeatMs: number;
  }>;
  readonly #pods: PodTracker;
  readonly #listeners = new Set<(event: ResourceEvent) => void>();
  readonly #applier: ObjectApplier;
  readonly #watcher: PodWatcher;
  #closed = false;

  constructor(config: KubernetesProviderConfig) {
    const quotas = config.quotas;
    this.#config = Object.freeze({
      api: config.api,
      manifests: resolveManifestOptions({
        ...config.manifests,
        // Workers never reach the API server, whatever address a store names.
        deniedCidrs: [...(config.manifests?.deniedCidrs ?? []), ...apiServerAddress(config.api)],
      }),
      quotas: (tenant: string) =>
        resolveTenantQuotas(typeof quotas === 'function' ? quotas(tenant) : quotas),
      readyTimeoutMs: config.readyTimeoutMs ?? 120_000,
      connectToWorkers: config.connectToWorkers ?? true,
      heartbeatMs: config.heartbeatMs ?? 1_000,
    });
    this.#applier = new ObjectApplier(config.api);
    this.#pods = new PodTracker({
      api: config.api,
      workerPort: this.#config.manifests.workerPort,
      provider: this.name,
      connectToWorkers: this.#config.connectToWorkers,
      heartbeatMs: this.#config.heartbeatMs,
      readPoolToken: (namespace, template) => this.#applier.readPoolToken(namespace, template),
      emit: (event) => this.#emit(event),
    });
    this.#watcher = new PodWatcher({
      api: config.api,
      labelSelector: selectorString(WORKER_SELECTOR),
      handlers: {
        onPod: (type, pod) => this.#pods.onPod(type, pod),
        onResync: (pods) => this.#pods.onResync(pods),
      },
    });
  }

  /** Watch diagnostics: how often the pod watch had to re-list after 410 Gone. */
  get resyncs(): number {
    return this.#watcher.resyncs;
  }

  /**
   * What the tenant namespaces' ResourceQuotas allow and have handed out: one tenant's when
   * `filter.tenant` is given (an extra, optional argument), else the sum over the tenants this
   * provider has seen (tenant "default" before any). A tenant whose namespace does not exist
   * yet counts its configured quota.
   */
  async capacity(filter: { tenant?: string } = {}): Promise<Capacity> {
    const known = this.#knownTenants();
    // Before any tenant is seen, say what the CLI's tenant ("default") would get.
    const tenants =
      filter.tenant !== undefined ? [filter.tenant] : known.length > 0 ? known : ['default'];
    const total: Capacity = {
      cpu_cores: 0,
      memory_gb: 0,
      gpus: 0,
      allocated: { cpu_cores: 0, memory_gb: 0, gpus: 0 },
    };
    for (const tenant of tenants) {
      const one = await readCapacity(
        this.#config.api,
        this.#namespace(tenant),
        this.#config.quotas(tenant),
      );
      total.cpu_cores += one.cpu_cores;
      total.memory_gb += one.memory_gb;
      total.gpus += one.gpus;
      total.allocated.cpu_cores += one.allocated.cpu_cores;
      total.allocated.memory_gb += one.allocated.memory_gb;
      total.allocated.gpus += one.allocated.gpus;
    }
    return total;
  }

  /** The manifests {@link provision} would apply for `request` (what `warmflow k8s manifests` prints). */
  manifestsFor(
    request: ProvisionRequest,
    resourceId = workerPodName(request.template, request.rpr.node_id),
  ) {
    return buildProvisionManifests(
      request,
      resourceId,
      this.#config.quotas(request.tenant),
      this.#config.manifests,
    );
  }

  async provision(request: ProvisionRequest, options: { signal?: AbortSignal } = {}): Promise<Rac> {
    if (this.#closed) throw new WarmflowError('E_CLOSED', 'the Kubernetes provider is closed');
    options.signal?.throwIfAborted();
    const resourceId = workerPodName(request.template, request.rpr.node_id);
    const manifests = this.manifestsFor(request, resourceId);
    await this.#watcher.start();
    await this.#applier.ensureOnce(request.tenant, manifests.tenant, request.tenant);
    const namespace = this.#namespace(request.tenant);
    assertQuotaRoom(
      await readCapacity(this.#config.api, namespace, this.#config.quotas(request.tenant)),
      request,
      namespace,
    );
    for (const manifest of manifests.pool) await this.#applier.ensure(manifest, request.tenant);
    const tracked: TrackedPod = {
      namespace,
      view: undefined,
      releasing: false,
      rac: {
        resource_id: resourceId,
        status: 'provisioning',
        network_address: '',
        node_id: request.rpr.node_id,
        node_ids: [...request.node_ids],
        template: request.template,
        tenant: request.tenant,
        provider: this.name,
        ready_at: null,
        rpr: request.rpr,
      },
    };
    const ready = new Promise<string>((resolve, reject) => (tracked.waiter = { resolve, reject }));
    ready.catch(() => undefined); // rejections are awaited below; never unhandled
    options.signal?.throwIfAborted();
    this.#pods.add(tracked);
    // Listen before creating: an abort while the create is in flight must still end the wait.
    const onAbort = () =>
      tracked.waiter?.reject(
        new WarmflowError('E_ABORTED', `provisioning ${resourceId} was aborted`),
      );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#config.api.objects.create(manifests.pod.toJSON());
    } catch (error) {
      options.signal?.removeEventListener('abort', onAbort);
      this.#pods.delete(resourceId);
      throw toWarmflowError(
        error,
        `pod ${resourceId} (node "${request.rpr.node_id}")`,
        request.tenant,
      );
    }
    const timer = setTimeout(
      () => void this.#pods.timedOut(tracked, this.#config.readyTimeoutMs),
      this.#config.readyTimeoutMs,
    );
    try {
      const podIP = await ready;
      this.#pods.update(tracked, {
        network_address: `${podIP}:${this.#config.manifests.workerPort}`,
      });
      if (this.#config.connectToWorkers) await this.#pods.link(tracked, request.token);
      const rac = structuredClone(
        this.#pods.update(tracked, { status: 'ready', ready_at: new Date().toISOString() }),
      );
      this.#emit({ type: 'ready', rac });
      return rac;
    } catch (error) {
      await this.release(resourceId);
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      delete tracked.waiter;
    }
  }

  async release(resourceId: string): Promise<void> {
    const tracked = this.#pods.get(resourceId);
    const targets: Array<{ name: string; namespace: string }> = [];
    if (tracked !== undefined) {
      tracked.releasing = true;
      this.#pods.update(tracked, { status: 'released' });
      tracked.link?.close();
      targets.push({ name: resourceId, namespace: tracked.namespace });
    } else {
      // Not known to this process (e.g. after a restart): find it by its label.
      const pods = await this.#applier.listPods(
        `${selectorString(WORKER_SELECTOR)},${LABEL.resourceId}=${resourceId}`,
      );
      for (const pod of pods)
        targets.push({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! });
    }
    for (const target of targets)
      await this.#applier.remove({ apiVersion: 'v1', kind: 'Pod', ...target });
    this.#pods.delete(resourceId);
  }

  /**
   * Every worker pod warmflow runs (optionally one tenant's / template's), found by label and
   * adopted: after a restart, this is how the provider takes its pods back.
   */
  async list(filter: { tenant?: string; template?: string } = {}): Promise<Rac[]> {
    const labels: Record<string, string> = { ...WORKER_SELECTOR, ...labelsFor(filter) };
    const racs: Rac[] = [];
    for (const pod of await this.#applier.listPods(selectorString(labels))) {
      // A pod that is terminating or has failed is no resource any more (the watch reports it).
      if (viewPod(pod).state === 'exited') continue;
      const tracked = this.#pods.adopt(pod);
      if (tracked === undefined || tracked.releasing) continue;
      if (filter.tenant !== undefined && tracked.rac.tenant !== filter.tenant) continue;
      if (filter.template !== undefined && tracked.rac.template !== filter.template) continue;
      racs.push(structuredClone(tracked.rac));
    }
    await this.#watcher.start();
    return racs;
  }

  watch(listener: (event: ResourceEvent) => void): () => void {
    this.#listeners.add(listener);
    void this.#watcher.start().catch(() => undefined);
    return () => this.#listeners.delete(listener);
  }

  /** Deletes every pod this provider holds and stops watching. Namespaces and pool Secrets stay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const tracked of this.#pods.all()) {
      tracked.waiter?.reject(new WarmflowError('E_CLOSED', 'the Kubernetes provider was closed'));
    }
    await Promise.allSettled(this.#pods.ids().map((id) => this.release(id)));
    this.#watcher.stop();
    this.#listeners.clear();
  }

  /**
   * Deletes a pool's leftovers (its Secret and store policies) after its pods are released:
   * what `pool down` calls last. With `namespace: true`, deletes the tenant's whole namespace.
   */
  async teardown(
    tenant: string,
    options: { template?: string; namespace?: boolean } = {},
  ): Promise<void> {
    const namespace = this.#namespace(tenant);
    if (options.namespace === true) {
      this.#applier.forget(tenant);
      await this.#applier.remove({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, tenant);
      return;
    }
    await this.#applier.removePoolObjects(tenant, namespace, options.template);
  }

  #namespace(tenant: string): string {
    return tenantNamespace(tenant, this.#config.manifests.namespacePrefix);
  }

  #knownTenants(): string[] {
    const tenants = new Set(this.#applier.keys);
    for (const tracked of this.#pods.all()) tenants.add(tracked.rac.tenant);
    return [...tenants];
  }

  #emit(event: ResourceEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // one listener's failure must not starve the others
      }
    }
  }
}

/** The API server's IP from its URL, when the kubeconfig names it by IP (a name has no IP here). */
export function apiServerAddress(api: Pick<KubeApi, 'server'>): string[] {
  if (api.server === undefined) return [];
  try {
    const host = new URL(api.server).hostname.replace(/^\[|\]$/g, '');
    return isIP(host) === 0 ? [] : [host];
  } catch {
    return [];
  }
}
