import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import type { ProvisionRequest } from '../../src/provision/provider.js';
import type { Rpr } from '../../src/predictor/rpr.js';
import { FakeProvider } from './fake-provider.js';
import { describeProviderConformance } from './provider-conformance.js';

const TOKEN = 'conformance-token-0123456789';

/** A request with no functions to warm: the contract is about resources, not code. */
function request(
  nodeId: string,
  overrides: { tenant?: string; template?: string; rpr?: Partial<Rpr> } = {},
): ProvisionRequest {
  return {
    tenant: overrides.tenant ?? 'acme',
    template: overrides.template ?? 'clicks',
    rpr: {
      node_id: nodeId,
      resource_type: 'CPU',
      cpu_cores: 1,
      memory_gb: 0.5,
      gpu_enabled: false,
      data_store_instance: null,
      ...overrides.rpr,
    },
    node_ids: [nodeId],
    warm: { functions: [], stores: {} },
    token: TOKEN,
  };
}

// The embedded default: real worker processes, with a declared capacity so the refusal is exact.
describeProviderConformance('local (worker processes)', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'warmflow-provider-conformance-'));
  return {
    provider: new LocalProvider({
      root,
      capacity: { cpu_cores: 4, memory_gb: 4, gpus: 0 },
      heartbeatMs: 200,
    }),
    request,
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
  };
});

// The tests' fake: the pool's model-based tests trust it to behave as a provider does.
describeProviderConformance('fake (in-process worker servers)', async () => ({
  provider: new FakeProvider({ cpu_cores: 4, memory_gb: 8 }),
  request,
}));
