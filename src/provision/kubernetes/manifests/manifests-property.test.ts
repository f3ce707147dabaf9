import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_TENANT_QUOTAS,
  applyOrder,
  buildProvisionManifests,
  checkManifest,
  podSecurityProblems,
  resolveManifestOptions,
  workerPodName,
} from './index.js';
import type { IPod } from 'kubernetes-models/v1/Pod';

const options = resolveManifestOptions();

describe('manifests for any names and sizes', () => {
  it('always pass the schema, allow-list, name and pod-security checks', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 64_000 }).map((m) => m / 1000),
        fc.integer({ min: 1, max: 512 * 1024 }).map((m) => m / 1024),
        fc.boolean(),
        (tenant, template, nodeIds, cores, memory, gpu) => {
          const nodeId = nodeIds.join('+');
          const built = buildProvisionManifests(
            {
              tenant,
              template,
              rpr: {
                node_id: nodeId,
                resource_type: gpu ? 'GPU' : 'CPU',
                cpu_cores: cores,
                memory_gb: memory,
                gpu_enabled: gpu,
                data_store_instance: null,
              },
              node_ids: nodeIds,
              warm: {
                functions: [],
                stores: { s: { kind: 'redis', url: 'redis://10.0.0.1:6379' } },
              },
              token: 'a-token-of-sixteen-chars',
            },
            workerPodName(template, nodeId),
            DEFAULT_TENANT_QUOTAS,
            options,
          );
          for (const manifest of applyOrder([built])) expect(checkManifest(manifest)).toEqual([]);
          expect(podSecurityProblems(built.pod.toJSON() as unknown as IPod)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
