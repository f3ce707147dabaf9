import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { WarmflowError } from '../../errors.js';
import { warmflowHome } from '../../home.js';
import type { TenantAreas } from '../../tenancy/tenant-area.js';
import {
  installPaths,
  minimalEnv,
  type SandboxMechanism,
  type SandboxSpec,
} from '../../tenancy/sandbox.js';
import { WorkerClient } from '../../worker/client.js';
import { CONFINED_ENV } from '../../worker/load-function.js';
import { killWorker, spawnWorker, terminateWorker, waitForReady } from '../../worker/spawn.js';
import type {
  Capacity,
  Provider,
  ProvisionRequest,
  ResourceEvent,
  ResourceUsage,
} from '../provider.js';
import type { Rac } from '../rac.js';
import { checkCapacity, type Allocation } from './capacity-check.js';
import { CpuPinning, type CpuPinningMode } from './cpu-pinning.js';
import { detectMachineCapacity, roundCores, type MachineCapacity } from './machine-capacity.js';

/** Configuration of a {@link LocalProvider}. */
export interface LocalProviderConfig {
  /** Folder holding per-tenant working directories; default `$WARMFLOW_HOME/workers`. */
  root?: string;
  /** Declared capacity instead of the detected one (e.g. to reserve part of the machine). */
  capacity?: Partial<Pick<MachineCapacity, 'cpu_cores' | 'memory_gb' | 'gpus'>>;
  /** Heartbeat interval asked of every worker; default 1000 ms. */
  heartbeatMs?: number;
  /** A worker silent this long is reported unhealthy; default 3 heartbeats. */
  unhealthyAfterMs?: number;
  /** Spawn-to-ready limit; default 30 s. */
  readyTimeoutMs?: number;
  /** A worker whose RSS exceeds `memory_gb` times this is killed (reported as oom_killed); default 1.1. */
  memoryTolerance?: number;
  /**
   * Tenant areas (servers): each worker whose WarmSpec holds a grant then runs with its working
   * directory in its tenant's area, an environment holding nothing of the server's, and
   * confined by `sandbox`.
   */
  areas?: TenantAreas;
  /** How workers of `areas` are confined (see `SandboxMechanism`); default `none`. */
  sandbox?: SandboxMechanism;
  /**
   * CPU placement (see {@link CpuPinningMode}): `exclusive` gives a resource of whole cores
   * CPUs of its own while one or more stay shared; default `none`.
   */
  cpuPinning?: CpuPinningMode;
}

interface LocalResource {
  rac: Rac;
  child: ChildProcess;
  client: WorkerClient | undefined;
  allocation: Allocation;
  gpuIndex: number | undefined;
  lastBeat: number;
  usage: ResourceUsage | undefined;
  releasing: boolean;
  memoryKilled: boolean;
  exited: Promise<void>;
}

/** Makes a tenant or template name safe as a path segment and in ids. */
function safeSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || '_';
}

/**
 * The local provider: each resource is a `warmflow worker` child process on this machine, in its
 * own per-tenant working directory with a per-tenant environment (the orchestrator's environment
 * is not inherited). It knows the machine's cores, memory and GPUs and refuses, naming what is
 * short, any request beyond what is still free: it never over-commits.
 *
 * Bounds in force: V8 heap (`--max-old-space-size`, 3/4 of `memory_gb`) and an RSS watchdog on the
 * heartbeat (kills a worker over `memory_gb` × tolerance). cgroup limits are not applied locally.
 */
export class LocalProvider implements Provider {
  readonly name = 'local';
  readonly #config: Readonly<LocalProviderConfig>;
  readonly #resources = new Map<string, LocalResource>();
  readonly #listeners = new Set<(event: ResourceEvent) => void>();
  readonly #allocated: Allocation = { cpu_cores: 0, memory_gb: 0, gpus: 0 };
  readonly #gpusInUse = new Set<number>();
  #machine: Promise<MachineCapacity> | undefined;
  readonly #healthTimer: NodeJS.Timeout;
  readonly #pinning: CpuPinning | null;

  constructor(config: LocalProviderConfig = {}) {
    this.#config = Object.freeze({ ...config });
    this.#pinning = (config.cpuPinning ?? 'none') === 'exclusive' ? new CpuPinning() : null;
    this.#healthTimer = setInterval(() => this.#checkHealth(), this.#heartbeatMs);
    this.#healthTimer.unref();
  }

  get #heartbeatMs(): number {
    return this.#config.heartbeatMs ?? 1_000;
  }

  async #machineCapacity(): Promise<MachineCapacity> {
    this.#machine ??= detectMachineCapacity().then((detected) => ({
      ...detected,
      ...this.#config.capacity,
    }));
    return this.#machine;
  }

  async capacity(): Promise<Capacity> {
    const machine = await this.#machineCapacity();
    return {
      cpu_cores: machine.cpu_cores,
      memory_gb: machine.memory_gb,
      gpus: machine.gpus,
      allocated: { ...this.#allocated },
    };
  }

  async provision(request: ProvisionRequest, options: { signal?: AbortSignal } = {}): Promise<Rac> {
    const machine = await this.#machineCapacity();
    if (options.signal?.aborted === true)
      throw new WarmflowError('E_ABORTED', 'provisioning aborted');
    const want: Allocation = {
      cpu_cores: roundCores(request.rpr.cpu_cores),
      memory_gb: request.rpr.memory_gb,
      gpus: request.rpr.gpu_enabled || request.rpr.resource_type === 'GPU' ? 1 : 0,
    };
    checkCapacity(want, machine, this.#allocated, request);
    this.#allocated.cpu_cores += want.cpu_cores;
    this.#allocated.memory_gb += want.memory_gb;
    this.#allocated.gpus += want.gpus;
    let gpuIndex: number | undefined;
    if (want.gpus > 0) {
      gpuIndex = [...Array(machine.gpus).keys()].find((index) => !this.#gpusInUse.has(index));
      if (gpuIndex !== undefined) this.#gpusInUse.add(gpuIndex);
    }

    const resourceId = `local-${safeSegment(request.tenant)}-${randomUUID().slice(0, 8)}`;
    // A worker holding a grant runs a server tenant's code: in its area, confined. Workers of
    // the local CLI and of `warmflow pool up` (the machine's own user) run as before.
    const area =
      request.warm.grant !== undefined ? this.#config.areas?.area(request.tenant) : undefined;
    const tenantDir =
      area?.work ??
      path.join(
        this.#config.root ?? path.join(warmflowHome(), 'workers'),
        safeSegment(request.tenant),
      );
    // Short folder names: a confined worker's socket path must fit in 108 bytes.
    const cwd = path.join(tenantDir, area === undefined ? resourceId : resourceId.slice(-8));
    // One temp folder per tenant, shared by its workers: tsx caches compiled TypeScript there, so
    // a tenant's second worker does not compile its functions again; tenants never share it.
    const tmp = path.join(tenantDir, '.tmp');
    for (const dir of [cwd, tmp]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const base = {
      WARMFLOW_TENANT: request.tenant,
      WARMFLOW_TEMPLATE: request.template,
      WARMFLOW_RESOURCE_ID: resourceId,
      ...(gpuIndex === undefined ? {} : { CUDA_VISIBLE_DEVICES: String(gpuIndex) }),
    };
    const env: Record<string, string> =
      area !== undefined
        ? minimalEnv(cwd, { TMPDIR: tmp, [CONFINED_ENV]: '1', ...base })
        : {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: cwd,
            TMPDIR: tmp,
            LANG: process.env.LANG ?? 'C.UTF-8',
            NODE_ENV: process.env.NODE_ENV ?? 'production',
            ...base,
            ...request.warm.env,
          };
    const confined = area !== undefined && (this.#config.sandbox ?? 'none') === 'bwrap';
    const sandbox: SandboxSpec | undefined = confined
      ? {
          mechanism: 'bwrap',
          writable: [area.data, area.work],
          readable: [...installPaths(), area.code, ...(this.#config.areas?.sharedRoots ?? [])],
          cwd,
        }
      : undefined;
    const logFd = openSync(path.join(cwd, 'worker.log'), 'a', 0o600);
    // CPUs of its own when it asks for whole cores and they are free; else the shared ones.
    const pinning = this.#pinning;
    const cpus = pinning?.give(resourceId, want.cpu_cores) ?? null;
    let child: ChildProcess;
    try {
      child = spawnWorker({
        resourceId,
        nodeIds: request.node_ids,
        cpuCores: want.cpu_cores,
        memoryGb: want.memory_gb,
        token: request.token,
        warm: request.warm,
        cwd,
        env,
        orchestratorPid: process.pid,
        logFd,
        ...(sandbox !== undefined ? { sandbox, listen: `unix:${path.join(cwd, 'w.sock')}` } : {}),
        ...(pinning !== null
          ? {
              wrap: (command: string, args: string[]) =>
                pinning.wrap(cpus ?? pinning.shared, command, args),
            }
          : {}),
      });
    } catch (error) {
      this.#allocated.cpu_cores -= want.cpu_cores;
      this.#allocated.memory_gb -= want.memory_gb;
      this.#allocated.gpus -= want.gpus;
      if (gpuIndex !== undefined) this.#gpusInUse.delete(gpuIndex);
      pinning?.forget(resourceId);
      throw error;
    } finally {
      closeSync(logFd); // the child holds its own copy
    }
    if (pinning !== null && cpus === null && child.pid !== undefined)
      pinning.share(resourceId, child.pid);
    const rac: Rac = {
      resource_id: resourceId,
      status: 'provisioning',
      network_address: '',
      node_id: request.node_ids.join('+'),
      node_ids: [...request.node_ids],
      template: request.template,
      tenant: request.tenant,
      provider: this.name,
      ready_at: null,
      rpr: { ...request.rpr, cpu_cores: want.cpu_cores },
      ...(cpus !== null ? { cpus } : {}),
    };
    if (child.pid !== undefined) rac.process_id = child.pid;
    const resource: LocalResource = {
      rac,
      child,
      client: undefined,
      allocation: want,
      gpuIndex,
      lastBeat: Date.now(),
      usage: undefined,
      releasing: false,
      memoryKilled: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    this.#resources.set(resourceId, resource);
    child.once('exit', (code, signal) => this.#onExit(resource, code, signal));
    // The orchestrator and the shared resources leave the CPUs just given.
    await pinning?.apply();

    try {
      const ready = await waitForReady(child, {
        timeoutMs: this.#config.readyTimeoutMs ?? 30_000,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const client = await WorkerClient.connect(ready.address, request.token);
      resource.client = client;
      client.on('message', ({ message }) => {
        if (message.type === 'heartbeat') this.#onHeartbeat(resource, message.usage);
      });
      await client.request({ type: 'watch', interval_ms: this.#heartbeatMs });
      // Replaced, never edited: copies of the RAC are handed out and kept.
      resource.rac = {
        ...rac,
        network_address: ready.address,
        // A sandboxed worker counts pids in a namespace of its own: the host's id is its sandbox's.
        process_id: sandbox === undefined ? ready.pid : (child.pid ?? ready.pid),
        status: 'ready',
        ready_at: new Date().toISOString(),
      };
      resource.lastBeat = Date.now();
    } catch (error) {
      resource.releasing = true;
      killWorker(child);
      await resource.exited;
      throw error instanceof WarmflowError
        ? error
        : new WarmflowError(
            'E_PROVISION',
            `worker for node "${rac.node_id}" did not start: ${String(error)}`,
            { cause: error },
          );
    }
    this.#emit({ type: 'ready', rac: { ...resource.rac } });
    return { ...resource.rac };
  }

  async release(resourceId: string): Promise<void> {
    const resource = this.#resources.get(resourceId);
    if (resource === undefined) return;
    resource.releasing = true;
    if (resource.child.exitCode === null && resource.child.signalCode === null) {
      // Ask politely (the data plane closes its stores), then insist.
      const client = resource.client;
      if (client !== undefined && !client.closed)
        client.request({ type: 'shutdown', reason: 'released' }).catch(() => {});
      else terminateWorker(resource.child);
      const timer = setTimeout(() => killWorker(resource.child), 2_000);
      await resource.exited;
      clearTimeout(timer);
    }
    await resource.exited;
    // Its CPUs (if it had any) are shared again once this resolves.
    await this.#pinning?.apply();
  }

  async list(filter: { tenant?: string; template?: string } = {}): Promise<Rac[]> {
    return [...this.#resources.values()]
      .map((resource) => resource.rac)
      .filter(
        (rac) =>
          (filter.tenant === undefined || rac.tenant === filter.tenant) &&
          (filter.template === undefined || rac.template === filter.template),
      )
      .map((rac) => ({ ...rac }));
  }

  /** Last usage a resource reported, if any. */
  usage(resourceId: string): ResourceUsage | undefined {
    return this.#resources.get(resourceId)?.usage;
  }

  watch(listener: (event: ResourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.#healthTimer);
    await Promise.all([...this.#resources.keys()].map((id) => this.release(id)));
    this.#listeners.clear();
    await this.#pinning?.restore();
  }

  #emit(event: ResourceEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the others from hearing about the resource.
      }
    }
  }

  #onHeartbeat(resource: LocalResource, usage: ResourceUsage): void {
    resource.lastBeat = Date.now();
    resource.usage = usage;
    if (resource.rac.status === 'unhealthy') resource.rac = { ...resource.rac, status: 'ready' };
    this.#emit({ type: 'usage', resource_id: resource.rac.resource_id, usage });
    const limit = resource.allocation.memory_gb * 2 ** 30 * (this.#config.memoryTolerance ?? 1.1);
    if (usage.rss_bytes > limit && !resource.memoryKilled) {
      resource.memoryKilled = true;
      killWorker(resource.child);
    }
  }

  #checkHealth(): void {
    const silentFor = this.#config.unhealthyAfterMs ?? 3 * this.#heartbeatMs;
    const now = Date.now();
    for (const resource of this.#resources.values()) {
      if (resource.rac.status !== 'ready' || resource.releasing) continue;
      if (now - resource.lastBeat > silentFor) {
        resource.rac = { ...resource.rac, status: 'unhealthy' };
        this.#emit({
          type: 'unhealthy',
          resource_id: resource.rac.resource_id,
          reason: `no heartbeat for ${now - resource.lastBeat} ms`,
        });
      }
    }
  }

  #onExit(resource: LocalResource, code: number | null, signal: NodeJS.Signals | null): void {
    const id = resource.rac.resource_id;
    this.#resources.delete(id);
    this.#allocated.cpu_cores -= resource.allocation.cpu_cores;
    this.#allocated.memory_gb -= resource.allocation.memory_gb;
    this.#allocated.gpus -= resource.allocation.gpus;
    if (resource.gpuIndex !== undefined) this.#gpusInUse.delete(resource.gpuIndex);
    if (this.#pinning !== null) {
      // Its CPUs are shared again: the orchestrator and the shared resources may use them.
      this.#pinning.forget(id);
      void this.#pinning.apply();
    }
    resource.client?.close();
    const wasReady = resource.rac.status !== 'provisioning';
    resource.rac = { ...resource.rac, status: resource.releasing ? 'released' : 'failed' };
    // V8 aborts (SIGABRT, exit 134) when its heap limit is hit; the watchdog SIGKILLs on RSS.
    const oom = resource.memoryKilled || signal === 'SIGABRT' || code === 134;
    const reason = resource.releasing
      ? 'released'
      : oom
        ? `memory limit of ${resource.allocation.memory_gb} GB exceeded`
        : `worker exited (code ${code}, signal ${signal})`;
    if (wasReady || !resource.releasing)
      this.#emit({ type: 'exited', resource_id: id, reason, oom_killed: oom });
  }
}
