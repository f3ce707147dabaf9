import { createKubeApi, createKubernetesProvider } from '../../src/provision/kubernetes/index.js';
import { describeProviderConformance } from '../provision/provider-conformance.js';
import { FakeKubeApi } from './fake-kube-api.js';
import { startInProcessWorker } from './in-process-worker.js';

const TOKEN = 'conformance-token-0123456789';

// The provider-agnostic contract, run against the Kubernetes provider through the real client
// and a fake API server (pods become Ready after 20 ms; quotas are enforced as admission would).
describeProviderConformance('kubernetes (fake API server)', async () => {
  const api = new FakeKubeApi();
  await api.start();
  const worker = await startInProcessWorker(TOKEN);
  api.podIP = () => '127.0.0.1';
  const provider = await createKubernetesProvider({
    api: await createKubeApi({ kubeconfigYaml: api.kubeconfigYaml() }),
    readyTimeoutMs: 2_000,
    quotas: { cpu_cores: 8, memory_gb: 16 },
    manifests: { workerPort: worker.port },
  });
  return {
    provider,
    request: (nodeId, overrides = {}) => ({
      tenant: overrides.tenant ?? 'acme',
      template: overrides.template ?? 'clicks',
      rpr: {
        node_id: nodeId,
        resource_type: 'CPU',
        cpu_cores: 1,
        memory_gb: 1,
        gpu_enabled: false,
        data_store_instance: null,
        ...overrides.rpr,
      },
      node_ids: [nodeId],
      warm: { functions: [], stores: {} },
      token: TOKEN,
    }),
    cleanup: async () => {
      await api.close();
      await worker.close();
    },
  };
});
