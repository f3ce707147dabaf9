import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { ProvisionRequest, ResourceEvent } from '../../src/provision/provider.js';
import {
  createKubeApi,
  createKubernetesProvider,
  type KubernetesProvider,
} from '../../src/provision/kubernetes/index.js';
import { FakeKubeApi } from './fake-kube-api.js';
import { startInProcessWorker } from './in-process-worker.js';

const TOKEN = 'pool-token-0123456789abcdef';

const request = (
  nodeId: string,
  extra: Partial<ProvisionRequest['rpr']> = {},
  tenant = 'acme',
): ProvisionRequest => ({
  tenant,
  template: 'clicks',
  rpr: {
    node_id: nodeId,
    resource_type: 'CPU',
    cpu_cores: 1,
    memory_gb: 1,
    gpu_enabled: false,
    data_store_instance: null,
    ...extra,
  },
  node_ids: [nodeId],
  warm: { functions: [], stores: { cache: { kind: 'redis', url: 'redis://10.1.2.3:6379' } } },
  token: TOKEN,
});

/** Resolves when `predicate` holds, polling; fails the test after `ms`. */
async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let api: FakeKubeApi;
let provider: KubernetesProvider;
let events: ResourceEvent[];
let worker: Awaited<ReturnType<typeof startInProcessWorker>>;

async function makeProvider(
  options: Parameters<typeof createKubernetesProvider>[0] = {},
): Promise<KubernetesProvider> {
  const client = await createKubeApi({ kubeconfigYaml: api.kubeconfigYaml() });
  const made = await createKubernetesProvider({
    api: client,
    readyTimeoutMs: 1_000,
    heartbeatMs: 100,
    manifests: { workerPort: worker.port },
    ...options,
  });
  made.watch((event) => events.push(event));
  return made;
}

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
  worker = await startInProcessWorker(TOKEN);
  api.podIP = () => '127.0.0.1';
  events = [];
  provider = await makeProvider();
});

afterEach(async () => {
  await provider.close();
  await api.close();
  await worker.close();
});

describe('KubernetesProvider against a fake API server', () => {
  it('creates the tenant namespace, the pool objects and a pod, and confirms it once Ready', async () => {
    const rac = await provider.provision(request('parse'));
    expect(rac).toMatchObject({
      status: 'ready',
      node_id: 'parse',
      tenant: 'acme',
      template: 'clicks',
      provider: 'kubernetes',
    });
    expect(rac.network_address).toBe(`127.0.0.1:${worker.port}`);
    expect(rac.ready_at).not.toBeNull();
    const ns = api.list('Namespace')[0];
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const kind of ['ServiceAccount', 'ResourceQuota', 'LimitRange', 'Secret'])
      expect(api.list(kind, ns.metadata.name)).toHaveLength(1);
    expect(api.list('NetworkPolicy', ns.metadata.name)).toHaveLength(4); // deny, dns, orchestrator, one store
    const secret = api.list('Secret')[0];
    expect(Buffer.from(secret.data.token, 'base64').toString()).toBe(TOKEN);
    expect(api.pod(rac.resource_id)).toBeDefined();
    expect(events).toContainEqual({ type: 'ready', rac });
  });

  it('a second pool of the same tenant meets 409s and patches instead of failing', async () => {
    await provider.provision(request('parse'));
    // a fresh provider (new process) knows nothing and must get 409 on every tenant object
    const second = await makeProvider();
    const before = api.requests.filter((r) => r.startsWith('PATCH')).length;
    const rac = await second.provision({
      ...request('count'),
      warm: { functions: [], stores: {} },
    });
    expect(rac.status).toBe('ready');
    const patches = api.requests.filter((r) => r.startsWith('PATCH')).length - before;
    expect(patches).toBe(8); // 7 tenant objects + the pool Secret
    const secret = api.list('Secret')[0];
    expect(Object.keys(secret.data).filter((k) => k.startsWith('warm-'))).toHaveLength(2);
    await second.close();
  });

  it('release deletes the pod and is idempotent', async () => {
    const rac = await provider.provision(request('parse'));
    await provider.release(rac.resource_id);
    expect(api.pod(rac.resource_id)).toBeUndefined();
    await provider.release(rac.resource_id);
    expect(await provider.list()).toEqual([]);
  });

  it('lists by label and adopts pods after a restart', async () => {
    const a = await provider.provision(request('parse'));
    const b = await provider.provision(request('count', {}, 'other'));
    const restarted = await makeProvider();
    const all = await restarted.list();
    expect(all.map((r) => r.resource_id).sort()).toEqual([a.resource_id, b.resource_id].sort());
    const mine = await restarted.list({ tenant: 'acme' });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      resource_id: a.resource_id,
      status: 'ready',
      network_address: a.network_address,
      rpr: a.rpr,
      node_ids: ['parse'],
    });
    // the adopted resource is watched: its OOM kill is reported by the new process
    const seen: ResourceEvent[] = [];
    restarted.watch((e) => seen.push(e));
    // it reconnects to the adopted workers with the token read back from the pool Secret
    await until(() => seen.some((e) => e.type === 'usage' && e.resource_id === a.resource_id));
    api.oomKill(a.resource_id);
    await until(() => seen.some((e) => e.type === 'exited'));
    await restarted.release(b.resource_id);
    expect(api.pod(b.resource_id)).toBeUndefined();
    await restarted.close();
  });

  it('an OOM-killed pod is reported as exited with oom_killed and cleaned up', async () => {
    const rac = await provider.provision(request('parse'));
    api.oomKill(rac.resource_id);
    await until(() => events.some((e) => e.type === 'exited'));
    expect(events.find((e) => e.type === 'exited')).toMatchObject({
      resource_id: rac.resource_id,
      oom_killed: true,
      reason: expect.stringContaining('OOMKilled'),
    });
    await until(() => api.pod(rac.resource_id) === undefined);
    expect(await provider.list()).toEqual([]);
  });

  it('an evicted pod is reported as exited, not OOM', async () => {
    const rac = await provider.provision(request('parse'));
    api.evict(rac.resource_id);
    await until(() => events.some((e) => e.type === 'exited'));
    expect(events.find((e) => e.type === 'exited')).toMatchObject({
      oom_killed: false,
      reason: expect.stringContaining('Evicted'),
    });
  });

  it('a pod deleted behind its back is reported as exited', async () => {
    const rac = await provider.provision(request('parse'));
    api.deleteBehindBack(rac.resource_id);
    await until(() => events.some((e) => e.type === 'exited'));
    expect(events.find((e) => e.type === 'exited')).toMatchObject({
      resource_id: rac.resource_id,
      reason: 'pod was deleted',
    });
  });

  it('losing readiness is reported as unhealthy, regaining it as ready', async () => {
    const rac = await provider.provision(request('parse'));
    const status = api.pod(rac.resource_id)!.status;
    api.setPodStatus(rac.resource_id, {
      ...status,
      conditions: [{ type: 'Ready', status: 'False' }],
    });
    await until(() => events.some((e) => e.type === 'unhealthy'));
    api.setPodStatus(rac.resource_id, status);
    await until(() => events.filter((e) => e.type === 'ready').length === 2);
  });

  it('a pod stuck Pending is deleted and reported with the scheduler reason', async () => {
    api.podFate = () => ({
      kind: 'unschedulable',
      message: '0/3 nodes are available: 3 Insufficient cpu.',
    });
    const failure = provider.provision(request('parse'));
    await expect(failure).rejects.toMatchObject({
      code: 'E_K8S_NOT_READY',
      message: expect.stringContaining('0/3 nodes are available: 3 Insufficient cpu.'),
    });
    expect(api.list('Pod')).toEqual([]);
  });

  it('a pod that never becomes Ready names the container reason', async () => {
    api.podFate = () => ({ kind: 'image-pull' });
    await expect(provider.provision(request('parse'))).rejects.toMatchObject({
      code: 'E_K8S_NOT_READY',
      message: expect.stringContaining('ImagePullBackOff'),
    });
    expect(api.list('Pod')).toEqual([]);
  });

  it('a pod OOM-killed while warming fails the provision and still reports the OOM', async () => {
    api.podFate = (pod) => {
      setTimeout(() => api.oomKill(pod.metadata.name), 10);
      return { kind: 'stay-pending' };
    };
    await expect(provider.provision(request('parse'))).rejects.toMatchObject({
      code: 'E_K8S_POD_FAILED',
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'exited', oom_killed: true }));
  });

  it('a 403 quota rejection becomes an error naming the quota', async () => {
    await provider.close();
    provider = await makeProvider({ quotas: { pods: 1 } });
    await provider.provision(request('parse'));
    const refused = provider.provision(request('count'));
    await expect(refused).rejects.toMatchObject({
      code: 'E_QUOTA',
      message: expect.stringMatching(/exceeded quota "warmflow-quota".*pods=1/),
    });
    expect(api.list('Pod')).toHaveLength(1);
  });

  it('refuses beyond the tenant quota before creating anything', async () => {
    await expect(provider.provision(request('parse', { cpu_cores: 64 }))).rejects.toMatchObject({
      code: 'E_QUOTA',
      message: expect.stringContaining('cpu_cores: asks 64, 16 free'),
    });
    expect(api.list('Pod')).toEqual([]);
  });

  it('capacity comes from the tenant ResourceQuota', async () => {
    expect(await provider.capacity({ tenant: 'acme' })).toEqual({
      cpu_cores: 16,
      memory_gb: 64,
      gpus: 0,
      allocated: { cpu_cores: 0, memory_gb: 0, gpus: 0 },
    });
    await provider.provision(request('parse', { cpu_cores: 2, memory_gb: 1.5 }));
    expect(await provider.capacity({ tenant: 'acme' })).toEqual({
      cpu_cores: 16,
      memory_gb: 64,
      gpus: 0,
      allocated: { cpu_cores: 2, memory_gb: 1.5, gpus: 0 },
    });
    expect((await provider.capacity()).allocated.cpu_cores).toBe(2);
  });

  it('re-lists after 410 Gone in the stream and keeps watching', async () => {
    const rac = await provider.provision(request('parse'));
    api.compact();
    await until(() => provider.resyncs >= 1 && api.openWatches === 1);
    api.oomKill(rac.resource_id);
    await until(() => events.some((e) => e.type === 'exited' && e.oom_killed));
  });

  it('re-lists after an HTTP 410 and notices pods that vanished meanwhile', async () => {
    api.goneAsHttpStatus = true;
    const rac = await provider.provision(request('parse'));
    api.vanishQuietly(rac.resource_id);
    api.compact();
    await until(() => events.some((e) => e.type === 'exited'));
    expect(events.find((e) => e.type === 'exited')).toMatchObject({
      resource_id: rac.resource_id,
      reason: expect.stringContaining('disappeared'),
    });
    expect(provider.resyncs).toBeGreaterThanOrEqual(1);
  });

  it('resumes the watch from its last version when the server ends it', async () => {
    const rac = await provider.provision(request('parse'));
    api.endWatches();
    await until(() => api.openWatches === 1);
    expect(provider.resyncs).toBe(0);
    api.evict(rac.resource_id);
    await until(() => events.some((e) => e.type === 'exited'));
  });

  it('aborting a provision deletes its pod', async () => {
    api.podFate = () => ({ kind: 'stay-pending' });
    await provider.close();
    provider = await makeProvider({ readyTimeoutMs: 30_000 }); // only the abort may end this wait
    const controller = new AbortController();
    const pending = provider.provision(request('parse'), { signal: controller.signal });
    await until(() => api.list('Pod').length === 1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(api.list('Pod')).toEqual([]);
  });

  it('close deletes every pod it holds; teardown removes the pool objects', async () => {
    await provider.provision(request('parse'));
    await provider.provision(request('count'));
    await provider.close();
    expect(api.list('Pod')).toEqual([]);
    await provider.teardown('acme', { template: 'clicks' });
    expect(api.list('Secret')).toEqual([]);
    expect(
      api
        .list('NetworkPolicy')
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['warmflow-allow-dns', 'warmflow-allow-orchestrator', 'warmflow-default-deny']);
    await provider.teardown('acme', { namespace: true });
    expect(api.list('Namespace')).toEqual([]);
  });

  it('watches the worker heartbeats and reports its usage', async () => {
    const rac = await provider.provision(request('parse'));
    await until(() => events.filter((e) => e.type === 'usage').length >= 2);
    const usage = events.find((e) => e.type === 'usage');
    expect(usage).toMatchObject({
      resource_id: rac.resource_id,
      usage: { rss_bytes: expect.any(Number) },
    });
  });

  it('a worker that refuses the pool token fails the provision and its pod is deleted', async () => {
    await expect(
      provider.provision({ ...request('parse'), token: 'another-token-0123456789' }),
    ).rejects.toMatchObject({
      code: 'E_K8S_WORKER_UNREACHABLE',
    });
    expect(api.list('Pod')).toEqual([]);
  });

  it('a worker that stops answering is reported unhealthy while its pod still looks Ready', async () => {
    const rac = await provider.provision(request('parse'));
    await worker.close();
    await until(() => events.some((e) => e.type === 'unhealthy'));
    expect(events.find((e) => e.type === 'unhealthy')).toMatchObject({
      resource_id: rac.resource_id,
    });
    expect((await provider.list())[0].status).toBe('unhealthy');
  });

  it('does not list or adopt pods that are terminating or failed', async () => {
    const rac = await provider.provision(request('parse'));
    const pod = api.pod(rac.resource_id)!;
    const restarted = await makeProvider({ connectToWorkers: false });
    pod.metadata.deletionTimestamp = new Date().toISOString(); // Terminating, still listed
    expect(await restarted.list()).toEqual([]);
    await restarted.close();
    expect(api.pod(rac.resource_id)).toBeDefined(); // closing a provider never touches pods it did not adopt
  });
});
