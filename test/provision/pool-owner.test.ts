import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rpr } from '../../src/predictor/rpr.js';
import { sendControl } from '../../src/provision/control/control-client.js';
import { startPoolOwner, type PoolOwner } from '../../src/provision/control/pool-owner.js';
import type { PoolStatus } from '../../src/provision/pool/warm-pool.js';
import type { Rac } from '../../src/provision/rac.js';
import { scratchDir } from '../helpers/scratch.js';

const flowFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/flow.yaml');
const rpr = (node_id: string): Rpr => ({
  node_id,
  resource_type: 'CPU',
  cpu_cores: 0.25,
  memory_gb: 0.25,
  gpu_enabled: false,
  data_store_instance: null,
});
const capacity = { capacity: { cpu_cores: 2, memory_gb: 4, gpus: 0 } };

describe('warmflow serve as pool owner, over the control socket', () => {
  const previousHome = process.env.WARMFLOW_HOME;
  let owner: PoolOwner;
  beforeAll(() => {
    process.env.WARMFLOW_HOME = scratchDir('warmflow-owner-');
  });
  afterAll(async () => {
    await owner?.close();
    if (previousHome === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = previousHome;
  });

  it('says how to start an owner when none runs', async () => {
    await expect(sendControl({ op: 'status' })).rejects.toMatchObject({
      code: 'E_NO_SERVE',
      hint: expect.stringContaining('warmflow serve --no-http'),
    });
  });

  it('brings a pool up, reports it, and takes it down', async () => {
    owner = await startPoolOwner({ provider: capacity });
    await expect(startPoolOwner({ provider: capacity })).rejects.toMatchObject({
      code: 'E_ALREADY_SERVING',
    });

    const up = await sendControl({
      op: 'up',
      flow: flowFile,
      rprs: [rpr('double'), rpr('upper')],
      sets: 1,
    });
    expect(up.template).toBe('pairs');
    // One resource per placement group (the rule executions claim by), not per function.
    expect((up.racs as Rac[]).map((r) => r.node_ids)).toEqual([
      ['source:numbers', 'double', 'upper', 'write:U'],
    ]);

    const { pools } = (await sendControl({ op: 'status' })) as unknown as { pools: PoolStatus[] };
    expect(pools).toHaveLength(1);
    expect(pools[0]).toMatchObject({
      tenant: 'default',
      template: 'pairs',
      ready_sets: 1,
      held: { resources: 1, cpu_cores: 1 },
    });

    await expect(sendControl({ op: 'up', flow: flowFile, rprs: [rpr('double')] })).rejects.toThrow(
      /no RPR for node "upper"/,
    );

    expect((await sendControl({ op: 'down', flow: flowFile })).released).toBe(1);
    expect(
      ((await sendControl({ op: 'status' })) as unknown as { pools: PoolStatus[] }).pools,
    ).toEqual([]);
    expect(await owner.provider.list()).toEqual([]);
  });
});
