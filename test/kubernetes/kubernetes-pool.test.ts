import { describe, it, expect, afterEach } from 'vitest';
import {
  createKubeApi,
  createKubernetesProvider,
  type KubernetesProvider,
} from '../../src/provision/kubernetes/index.js';
import { WarmPool } from '../../src/provision/pool/warm-pool.js';
import { planResources } from '../../src/provision/pool/resource-plan.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { FakeKubeApi } from './fake-kube-api.js';
import { startInProcessWorker } from './in-process-worker.js';

const TOKEN = 'pool-token-for-the-k8s-pool-test';
const RPRS = ['parse', 'enrich', 'sessionize'].map((node_id) => ({
  node_id,
  resource_type: 'CPU' as const,
  cpu_cores: 1,
  memory_gb: 1,
  gpu_enabled: false,
  data_store_instance: null,
}));

async function until(predicate: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The warm pool of src/provision/pool, unchanged, on top of the Kubernetes provider: the
// provider contract is all it needs.
describe('a warm pool on the Kubernetes provider', () => {
  it('fills a set of pods, hands it to one claim, and replaces an OOM-killed pod', async () => {
    const api = new FakeKubeApi();
    await api.start();
    const worker = await startInProcessWorker(TOKEN);
    api.podIP = () => '127.0.0.1';
    const provider: KubernetesProvider = await createKubernetesProvider({
      api: await createKubeApi({ kubeconfigYaml: api.kubeconfigYaml() }),
      manifests: { workerPort: worker.port },
      heartbeatMs: 100,
    });
    const flow = await loadFlow('examples/clickstream/flow.yaml');
    const pool = new WarmPool({
      tenant: 'acme',
      template: flow.template.name,
      plans: planResources(flow, RPRS),
      sets: 1,
      keepAliveMs: 0,
      token: TOKEN,
      provider,
      store: undefined,
      refillDelayMs: 0,
    });
    const unwatch = provider.watch((event) => pool.onResourceEvent(event));
    cleanups.push(async () => {
      unwatch();
      await pool.close();
      await provider.close();
      await api.close();
      await worker.close();
    });

    const racs = await pool.fill();
    // One pod per placement group: the three chained functions share one resource.
    expect(racs.map((r) => r.node_id)).toEqual(['parse+enrich+sessionize']);
    expect(api.list('Pod')).toHaveLength(1);

    const victim = racs[0];
    api.oomKill(victim.resource_id);
    await until(() => {
      const held = pool.status().sets.flatMap((set) => set.resources);
      return (
        held.length === 1 &&
        held.every((r) => r.status === 'ready') &&
        !held.some((r) => r.resource_id === victim.resource_id)
      );
    });
    const pods = api
      .list('Pod')
      .map((p) => p.metadata.annotations['warmflow.dev/node-id'] as string);
    expect(pods).toEqual(['parse+enrich+sessionize']);

    await until(() => pool.status().ready_sets === 1);
    const claim = pool.claim();
    expect(claim).not.toBeNull();
    expect(pool.claim()).toBeNull(); // one set, one claim
    await pool.release(claim!);
  });
});
