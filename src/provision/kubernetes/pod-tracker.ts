import type { ResourceEvent } from '../provider.js';
import type { Rac } from '../rac.js';
import type { KubeApi, KubeObject } from './kube-api.js';
import { notReadyError, podFailedError } from './kubernetes-errors.js';
import { viewPod, type PodView } from './pod-view.js';
import { racFromPod } from './pod-rac.js';
import { WorkerLink } from './worker-link.js';

/** One worker pod the provider holds: its RAC and what the watch and the worker link say. */
export interface TrackedPod {
  /** Replaced on every change, never edited: a RAC handed out is a document its holder keeps. */
  rac: Rac;
  namespace: string;
  view: PodView | undefined;
  releasing: boolean;
  link?: WorkerLink;
  linking?: boolean;
  /** Set while `provision` waits for the pod to be Ready. */
  waiter?: { resolve(podIP: string): void; reject(error: Error): void };
}

/** Configuration of a {@link PodTracker}. */
export interface PodTrackerConfig {
  api: KubeApi;
  workerPort: number;
  provider: string;
  connectToWorkers: boolean;
  heartbeatMs: number;
  /** The pool token of a template's pool in a namespace (read back from its Secret). */
  readPoolToken(namespace: string, template: string): Promise<string>;
  emit(event: ResourceEvent): void;
}

/**
 * The worker pods a Kubernetes provider holds and their lifecycle: it turns pod watch events
 * into resource events (pods Ready, lost readiness, evicted, failed, OOM-killed), adopts pods
 * found by label after a restart, and keeps a heartbeat link to each ready worker.
 */
export class PodTracker {
  readonly #config: Readonly<PodTrackerConfig>;
  readonly #pods = new Map<string, TrackedPod>();

  constructor(config: PodTrackerConfig) {
    this.#config = Object.freeze({ ...config });
  }

  get(resourceId: string): TrackedPod | undefined {
    return this.#pods.get(resourceId);
  }

  add(tracked: TrackedPod): void {
    this.#pods.set(tracked.rac.resource_id, tracked);
  }

  delete(resourceId: string): void {
    this.#pods.delete(resourceId);
  }

  /** Resource ids of every pod held. */
  ids(): string[] {
    return [...this.#pods.keys()];
  }

  /** Every pod held. */
  all(): TrackedPod[] {
    return [...this.#pods.values()];
  }

  /** Gives a pod's RAC new fields (a new RAC object). */
  update(tracked: TrackedPod, fields: Partial<Rac>): Rac {
    tracked.rac = { ...tracked.rac, ...fields };
    return tracked.rac;
  }

  /** Finds or adopts the resource of a pod; undefined for pods warmflow cannot read back. */
  adopt(pod: KubeObject): TrackedPod | undefined {
    const known = this.#pods.get(pod.metadata?.name ?? '');
    if (known !== undefined) return known;
    const view = viewPod(pod);
    const rac = racFromPod(pod, view, this.#config.workerPort, this.#config.provider);
    if (rac === undefined) return undefined;
    const tracked: TrackedPod = {
      namespace: pod.metadata!.namespace!,
      view,
      releasing: false,
      rac,
    };
    this.#pods.set(rac.resource_id, tracked);
    if (view.state === 'ready' && this.#config.connectToWorkers) void this.#adoptLink(tracked);
    return tracked;
  }

  /** Connects to a worker and watches its heartbeats; throws when it cannot be reached or refuses the token. */
  async link(tracked: TrackedPod, token: string): Promise<void> {
    const link = new WorkerLink({
      address: tracked.rac.network_address,
      token,
      heartbeatMs: this.#config.heartbeatMs,
      onUsage: (usage) =>
        this.#config.emit({ type: 'usage', resource_id: tracked.rac.resource_id, usage }),
      onLost: (reason) => this.#markUnhealthy(tracked, reason),
      onBack: () => {
        if (tracked.view?.state === 'ready') this.#markReady(tracked);
      },
    });
    await link.open();
    if (tracked.releasing || !this.#pods.has(tracked.rac.resource_id)) link.close();
    else tracked.link = link;
  }

  /** What the watch saw of one pod. */
  onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
    const tracked = this.#pods.get(pod.metadata?.name ?? '');
    if (tracked === undefined) return; // not ours (yet): list() adopts
    if (tracked.releasing) {
      if (type === 'DELETED') this.#pods.delete(tracked.rac.resource_id);
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
        this.#config.emit({
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
      this.update(tracked, { network_address: `${view.podIP}:${this.#config.workerPort}` });
      if (tracked.link === undefined && this.#config.connectToWorkers)
        void this.#adoptLink(tracked);
      else this.#markReady(tracked);
    } else if (view.state !== 'ready' && previous?.state === 'ready') {
      this.#markUnhealthy(tracked, view.detail);
    }
  }

  /** The watch re-listed every pod (after 410 Gone): pods missing from the list are gone. */
  onResync(pods: KubeObject[]): void {
    const present = new Set(pods.map((pod) => pod.metadata?.name));
    for (const pod of pods) this.onPod('MODIFIED', pod);
    for (const [id, tracked] of [...this.#pods]) {
      if (!present.has(id) && tracked.waiter === undefined)
        this.#gone(tracked, 'pod disappeared while the watch was down', false);
    }
  }

  /** A pod not Ready in time: read why (the scheduler's message), then fail the provision. */
  async timedOut(tracked: TrackedPod, readyTimeoutMs: number): Promise<void> {
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
      notReadyError(tracked.rac.resource_id, tracked.rac.node_id, why, readyTimeoutMs),
    );
  }

  /** After a restart: read the pool token back from its Secret and reconnect to the worker. */
  async #adoptLink(tracked: TrackedPod): Promise<void> {
    if (tracked.linking) return;
    tracked.linking = true;
    try {
      const token = await this.#config.readPoolToken(tracked.namespace, tracked.rac.template);
      await this.link(tracked, token);
      if (tracked.view?.state === 'ready') this.#markReady(tracked);
    } catch (error) {
      this.#markUnhealthy(tracked, error instanceof Error ? error.message : String(error));
    } finally {
      tracked.linking = false;
    }
  }

  #markUnhealthy(tracked: TrackedPod, reason: string): void {
    if (tracked.releasing || tracked.rac.status !== 'ready') return;
    this.update(tracked, { status: 'unhealthy' });
    this.#config.emit({ type: 'unhealthy', resource_id: tracked.rac.resource_id, reason });
  }

  #markReady(tracked: TrackedPod): void {
    if (tracked.releasing || tracked.rac.status === 'ready') return;
    const rac = this.update(tracked, {
      status: 'ready',
      ready_at: tracked.rac.ready_at ?? new Date().toISOString(),
    });
    this.#config.emit({ type: 'ready', rac: structuredClone(rac) });
  }

  /** A resource died: report it, forget it, and delete what is left of its pod. */
  #gone(tracked: TrackedPod, reason: string, oomKilled: boolean): void {
    this.#pods.delete(tracked.rac.resource_id);
    tracked.link?.close();
    this.update(tracked, { status: 'failed' });
    this.#config.emit({
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
}
