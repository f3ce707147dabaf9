import { randomUUID } from 'node:crypto';
import type {
  Capacity,
  Provider,
  ProvisionRequest,
  ResourceEvent,
} from '../../src/provision/provider.js';
import type { Rac } from '../../src/provision/rac.js';
import { WarmflowError } from '../../src/errors.js';
import { WorkerServer } from '../../src/worker/worker-server.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * A provider whose resources are in-process worker servers (real TCP, real token check, no child
 * processes), so model-based tests of the pool run fast. `kill` simulates a resource dying. It
 * keeps the provider contract (the conformance suite runs on it): capacity accounted and never
 * over-committed, a `ready` event per resource, aborts honoured.
 */
export class FakeProvider implements Provider {
  readonly name = 'fake';
  readonly #resources = new Map<string, { rac: Rac; server: WorkerServer }>();
  readonly #listeners = new Set<(event: ResourceEvent) => void>();
  readonly #total: { cpu_cores: number; memory_gb: number };
  provisioned = 0;

  constructor(capacity: { cpu_cores?: number; memory_gb?: number } = {}) {
    this.#total = { cpu_cores: capacity.cpu_cores ?? 1e6, memory_gb: capacity.memory_gb ?? 1e6 };
  }

  #allocated(): { cpu_cores: number; memory_gb: number; gpus: number } {
    let cpu = 0;
    let memory = 0;
    for (const { rac } of this.#resources.values()) {
      cpu += rac.rpr.cpu_cores;
      memory += rac.rpr.memory_gb;
    }
    return { cpu_cores: cpu, memory_gb: memory, gpus: 0 };
  }

  async capacity(): Promise<Capacity> {
    return { ...this.#total, gpus: 0, allocated: this.#allocated() };
  }

  async provision(request: ProvisionRequest, options: { signal?: AbortSignal } = {}): Promise<Rac> {
    options.signal?.throwIfAborted();
    const allocated = this.#allocated();
    if (allocated.cpu_cores + request.rpr.cpu_cores > this.#total.cpu_cores + 1e-9)
      throw new WarmflowError(
        'E_CAPACITY',
        `${request.rpr.cpu_cores} cpu cores asked, ${this.#total.cpu_cores - allocated.cpu_cores} free`,
      );
    if (allocated.memory_gb + request.rpr.memory_gb > this.#total.memory_gb + 1e-9)
      throw new WarmflowError(
        'E_CAPACITY',
        `${request.rpr.memory_gb} GB of memory asked, ${this.#total.memory_gb - allocated.memory_gb} free`,
      );
    const id = `fake-${request.tenant}-${randomUUID().slice(0, 8)}`;
    const server = new WorkerServer({
      token: request.token,
      resourceId: id,
      nodeIds: request.node_ids,
      dataPlane: { handle: () => {}, close: async () => {} },
      log: silent,
    });
    const address = await server.listen();
    const rac: Rac = {
      resource_id: id,
      status: 'ready',
      network_address: address,
      node_id: request.node_ids.join('+'),
      node_ids: request.node_ids,
      template: request.template,
      tenant: request.tenant,
      provider: this.name,
      ready_at: new Date().toISOString(),
      rpr: request.rpr,
    };
    if (options.signal?.aborted === true) {
      await server.close();
      options.signal.throwIfAborted();
    }
    this.#resources.set(id, { rac, server });
    this.provisioned++;
    for (const listener of this.#listeners) listener({ type: 'ready', rac: { ...rac } });
    return { ...rac };
  }

  async release(resourceId: string): Promise<void> {
    const resource = this.#resources.get(resourceId);
    if (resource === undefined) return;
    this.#resources.delete(resourceId);
    await resource.server.close();
  }

  /** Simulates the resource dying. */
  async kill(resourceId: string): Promise<void> {
    await this.release(resourceId);
    for (const listener of this.#listeners)
      listener({
        type: 'exited',
        resource_id: resourceId,
        reason: 'killed by test',
        oom_killed: false,
      });
  }

  async list(filter: { tenant?: string; template?: string } = {}): Promise<Rac[]> {
    return [...this.#resources.values()]
      .map((r) => ({ ...r.rac }))
      .filter(
        (rac) =>
          (filter.tenant ?? rac.tenant) === rac.tenant &&
          (filter.template ?? rac.template) === rac.template,
      );
  }

  watch(listener: (event: ResourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#resources.keys()].map((id) => this.release(id)));
  }
}
