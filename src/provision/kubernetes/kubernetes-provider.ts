import { WarmflowError } from '../../errors.js';
import type { Capacity, Provider, ProvisionRequest, ResourceEvent } from '../provider.js';
import type { Rac } from '../rac.js';
import type { KubeApi, KubeObject } from './kube-api.js';
import { notReadyError, podFailedError, toWarmflowError } from './kubernetes-errors.js';
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
import { viewPod, type PodView } from './pod-view.js';
import { assertQuotaRoom, readCapacity } from './quota-capacity.js';
import { ObjectApplier } from './object-applier.js';
import { racFromPod } from './pod-rac.js';
import { WorkerLink } from './worker-link.js';

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

interface Tracked {
  rac: Rac;
  namespace: string;
  view: PodView | undefined;
  releasing: boolean;
  /** The pool token, when this process provisioned the pod (adopted pods read it from the Secret). */
  token?: string;
  link?: WorkerLink;
  linking?: boolean;
  waiter?: { resolve(podIP: string): void; reject(error: Error): void };
}

/**
 * The Kubernetes provider: every resource is a pod running `warmflow worker` in its tenant's
 * locked-down namespace, confirmed (RAC) once the pod is Ready, at `podIP:port`.
 *
 * One list-then-watch over all warmflow worker pods feeds everything: provisioning waits on it,
 * and it turns evictions, failures and OOM kills into `exited` events (OOM kills with
 * `oom_killed: true`, so history learns from them) and lost readiness into `unhealthy`.
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
  readonly #resources = new Map<string, Tracked>();
  readonly #listeners = new Set<(event: ResourceEvent) => void>();
  readonly #applier: ObjectApplier;
  readonly #watcher: PodWatcher;
  #closed = false;

  constructor(config: KubernetesProviderConfig) {
    const quotas = config.quotas;
    this.#config = Object.freeze({
      api: config.api,
      manifests: resolveManifestOptions(config.manifests),
      quotas: (tenant: string) =>
        resolveTenantQuotas(typeof quotas === 'function' ? quotas(tenant) : quotas),
      readyTimeoutMs: config.readyTimeoutMs ?? 120_000,
      connectToWorkers: config.connectToWorkers ?? true,
      heartbeatMs: config.heartbeatMs ?? 1_000,
    });
    this.#applier = new ObjectApplier(config.api);
    this.#watcher = new PodWatcher({
      api: config.api,
      labelSelector: selectorString(WORKER_SELECTOR),
      handlers: {
        onPod: (type, pod) => this.#onPod(type, pod),
        onResync: (pods) => this.#onResync(pods),
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
    const tracked: Tracked = {
      namespace,
      view: undefined,
      releasing: false,
      token: request.token,
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
    this.#resources.set(resourceId, tracked);
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
      this.#resources.delete(resourceId);
      throw toWarmflowError(
        error,
        `pod ${resourceId} (node "${request.rpr.node_id}")`,
        request.tenant,
      );
    }
    const timer = setTimeout(() => void this.#timedOut(tracked), this.#config.readyTimeoutMs);
    try {
      const podIP = await ready;
      tracked.rac.network_address = `${podIP}:${this.#config.manifests.workerPort}`;
      if (this.#config.connectToWorkers) await this.#link(tracked, request.token);
      tracked.rac.status = 'ready';
      tracked.rac.ready_at = new Date().toISOString();
      const rac = structuredClone(tracked.rac);
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
    const tracked = this.#resources.get(resourceId);
    const targets: Array<{ name: string; namespace: string }> = [];
    if (tracked !== undefined) {
      tracked.releasing = true;
      tracked.rac.status = 'released';
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
    this.#resources.delete(resourceId);
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
      const tracked = this.#track(pod);
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
    for (const tracked of this.#resources.values()) {
      tracked.waiter?.reject(new WarmflowError('E_CLOSED', 'the Kubernetes provider was closed'));
    }
    await Promise.allSettled([...this.#resources.keys()].map((id) => this.release(id)));
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
    for (const tracked of this.#resources.values()) tenants.add(tracked.rac.tenant);
    return [...tenants];
  }

  /** Finds or adopts the resource of a pod; undefined for pods warmflow cannot read back. */
  #track(pod: KubeObject): Tracked | undefined {
    const known = this.#resources.get(pod.metadata?.name ?? '');
    if (known !== undefined) return known;
    const view = viewPod(pod);
    const rac = racFromPod(pod, view, this.#config.manifests.workerPort, this.name);
    if (rac === undefined) return undefined;
    const tracked: Tracked = { namespace: pod.metadata!.namespace!, view, releasing: false, rac };
    this.#resources.set(rac.resource_id, tracked);
    if (view.state === 'ready' && this.#config.connectToWorkers) void this.#adoptLink(tracked);
    return tracked;
  }

  /** Connects to a worker and watches its heartbeats; throws when it cannot be reached or refuses the token. */
  async #link(tracked: Tracked, token: string): Promise<void> {
    const link = new WorkerLink({
      address: tracked.rac.network_address,
      token,
      heartbeatMs: this.#config.heartbeatMs,
      onUsage: (usage) =>
        this.#emit({ type: 'usage', resource_id: tracked.rac.resource_id, usage }),
      onLost: (reason) => this.#markUnhealthy(tracked, reason),
      onBack: () => {
        if (tracked.view?.state === 'ready') this.#markReady(tracked);
      },
    });
    await link.open();
    if (tracked.releasing || !this.#resources.has(tracked.rac.resource_id)) link.close();
    else tracked.link = link;
  }

  /** After a restart: read the pool token back from its Secret and reconnect to the worker. */
  async #adoptLink(tracked: Tracked): Promise<void> {
    if (tracked.linking) return;
    tracked.linking = true;
    try {
      const token = await this.#applier.readPoolToken(tracked.namespace, tracked.rac.template);
      await this.#link(tracked, token);
      if (tracked.view?.state === 'ready') this.#markReady(tracked);
    } catch (error) {
      this.#markUnhealthy(tracked, error instanceof Error ? error.message : String(error));
    } finally {
      tracked.linking = false;
    }
  }

  #markUnhealthy(tracked: Tracked, reason: string): void {
    if (tracked.releasing || tracked.rac.status !== 'ready') return;
    tracked.rac.status = 'unhealthy';
    this.#emit({ type: 'unhealthy', resource_id: tracked.rac.resource_id, reason });
  }

  #markReady(tracked: Tracked): void {
    if (tracked.releasing || tracked.rac.status === 'ready') return;
    tracked.rac.status = 'ready';
    tracked.rac.ready_at ??= new Date().toISOString();
    this.#emit({ type: 'ready', rac: structuredClone(tracked.rac) });
  }

  #onResync(pods: KubeObject[]): void {
    const present = new Set(pods.map((pod) => pod.metadata?.name));
    for (const pod of pods) this.#onPod('MODIFIED', pod);
    for (const [id, tracked] of [...this.#resources]) {
      if (!present.has(id) && tracked.waiter === undefined)
        this.#gone(tracked, 'pod disappeared while the watch was down', false);
    }
  }

  #onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
    const tracked = this.#resources.get(pod.metadata?.name ?? '');
    if (tracked === undefined) return; // not ours (yet): list() adopts
    if (tracked.releasing) {
      if (type === 'DELETED') this.#resources.delete(tracked.rac.resource_id);
      return;
    }
    const view: PodView =
      type === 'DELETED'
        ? { state: 'exited', reason: 'pod was deleted', oomKilled: false }
        : viewPod(pod);
    const previous = tracked.view;
    tracked.view = view;
    if (tracked.waiter !== undefined) {
      if (view.state === 'ready') tracked.waiter.resolve(view.podIP);
      else if (view.state === 'exited') {
        this.#emit({
          type: 'exited',
          resource_id: tracked.rac.resource_id,
          reason: view.reason,
          oom_killed: view.oomKilled,
        });
        tracked.waiter.reject(
          podFailedError(tracked.rac.resource_id, tracked.rac.node_id, view.reason, view.oomKilled),
        );
      }
      return;
    }
    if (view.state === 'exited') {
      this.#gone(tracked, view.reason, view.oomKilled);
    } else if (view.state === 'ready' && previous?.state !== 'ready') {
      tracked.rac.network_address = `${view.podIP}:${this.#config.manifests.workerPort}`;
      if (tracked.link === undefined && this.#config.connectToWorkers)
        void this.#adoptLink(tracked);
      else this.#markReady(tracked);
    } else if (view.state !== 'ready' && previous?.state === 'ready') {
      this.#markUnhealthy(tracked, view.detail);
    }
  }

  /** A resource died: report it, forget it, and delete what is left of its pod. */
  #gone(tracked: Tracked, reason: string, oomKilled: boolean): void {
    this.#resources.delete(tracked.rac.resource_id);
    tracked.link?.close();
    tracked.rac.status = 'failed';
    this.#emit({
      type: 'exited',
      resource_id: tracked.rac.resource_id,
      reason,
      oom_killed: oomKilled,
    });
    const metadata = { name: tracked.rac.resource_id, namespace: tracked.namespace };
    this.#config.api.objects
      .delete({ apiVersion: 'v1', kind: 'Pod', metadata })
      .catch(() => undefined);
  }

  /** A pod not Ready in time: read why (the scheduler's message), then fail the provision. */
  async #timedOut(tracked: Tracked): Promise<void> {
    if (tracked.waiter === undefined) return;
    let view = tracked.view;
    try {
      const pod = await this.#config.api.objects.read({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: tracked.rac.resource_id, namespace: tracked.namespace },
      });
      view = viewPod(pod);
    } catch {
      // keep what the watch last said
    }
    const why =
      view === undefined
        ? 'no status reported'
        : view.state === 'pending' || view.state === 'unready'
          ? view.detail
          : view.state;
    tracked.waiter?.reject(
      notReadyError(tracked.rac.resource_id, tracked.rac.node_id, why, this.#config.readyTimeoutMs),
    );
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
