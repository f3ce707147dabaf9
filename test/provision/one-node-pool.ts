import type { Rpr } from '../../src/predictor/rpr.js';
import type { PoolFlow } from '../../src/provision/pool/resource-plan.js';

/** A one-function flow named `name` and its RPR (1 core, 0.1 GB): enough to fill a pool of fake resources. */
export function oneNodePool(name: string): { flow: PoolFlow; rprs: Rpr[] } {
  return {
    flow: {
      template: { name, nodes: [{ id: 'f1', kind: 'function' }], edges: [], transactions: [] },
      functions: [{ name: 'f1', module: '/fake/f1.js', export: 'f1' }],
    },
    rprs: [
      {
        node_id: 'f1',
        resource_type: 'CPU',
        cpu_cores: 1,
        memory_gb: 0.1,
        gpu_enabled: false,
        data_store_instance: null,
      },
    ],
  };
}
