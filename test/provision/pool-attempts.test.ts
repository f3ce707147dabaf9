import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PoolStateStore } from '../../src/provision/pool/pool-state-store.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { poolsPart, type LocalPartsConfig } from '../../src/server/parts/local-parts.js';
import { FakeProvider } from './fake-provider.js';
import { oneNodePool } from './one-node-pool.js';
import { scratchDir } from '../helpers/scratch.js';

const { flow, rprs } = oneNodePool('never-warm');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** One server start: a fresh provider with no room (every warm-up fails) on the same home database. */
async function start(file: string) {
  const provider = new FakeProvider({ cpu_cores: 0.5 });
  // Every call counts, the refused ones included (`provisioned` counts only successes).
  const calls = { provision: 0 };
  const provision = provider.provision.bind(provider);
  provider.provision = (...args) => {
    calls.provision++;
    return provision(...args);
  };
  const store = new PoolStateStore(file);
  const service = new PreProvisioningService({ provider, store });
  const result = await service.restore();
  return {
    provider,
    calls,
    store,
    service,
    result,
    close: async () => {
      await service.close();
      store.close();
    },
  };
}

describe('a pool request whose warm-up always fails', () => {
  it('is tried a bounded number of times across restarts, then reported as given up', async () => {
    const dir = scratchDir('warmflow-pool-attempts-');
    dirs.push(dir);
    const file = path.join(dir, 'home.db');

    // The request itself: attempt 1 fails, and the failure is recorded.
    const first = await start(file);
    await expect(
      first.service.preProvision({ flow, rprs, tenant: 't', keepAliveMs: 0 }),
    ).rejects.toThrow(/cpu cores asked/);
    expect(first.store.pools()[0]).toMatchObject({ attempts: 1 });
    expect(first.store.pools()[0].last_error).toMatch(/cpu cores asked/);
    await first.close();

    // Restarts 1 and 2: attempts 2 and 3, each failing and reported.
    for (const attempt of [2, 3]) {
      const restarted = await start(file);
      expect(restarted.result.restored).toEqual([]);
      expect(restarted.result.failed).toEqual([
        {
          tenant: 't',
          template: 'never-warm',
          error: expect.stringMatching(
            new RegExp(`^attempt ${attempt} of 3 failed: .*cpu cores asked`),
          ),
        },
      ]);
      expect(restarted.store.pools()[0].attempts).toBe(attempt);
      expect(restarted.calls.provision).toBeGreaterThan(0);
      await restarted.close();
    }

    // Restart 3: not tried at all; status says why, and holds nothing.
    const last = await start(file);
    expect(last.result.failed).toEqual([
      {
        tenant: 't',
        template: 'never-warm',
        error: expect.stringMatching(/^gave up after 3 failed attempts: .*cpu cores asked/),
      },
    ]);
    const [status] = last.service.status({ tenant: 't' });
    expect(status.given_up).toEqual({ attempts: 3, reason: last.result.failed[0].error });
    expect(status.last_error).toBe(last.result.failed[0].error);
    expect(status.held.resources).toBe(0);
    expect(last.service.claim('never-warm', 't')).toBeNull();
    expect(last.calls.provision).toBe(0);
    // The server's pool list (`GET /v1/pools`, `pool status --server`) says so too.
    const [view] = await poolsPart({ service: last.service } as unknown as LocalPartsConfig).list(
      't',
    );
    expect(view).toMatchObject({
      template: 'never-warm',
      resources: [],
      last_error: status.last_error,
      given_up: status.given_up,
    });
    // Taking it down forgets it for good.
    expect(await last.service.down({ tenant: 't' })).toBe(1);
    expect(last.store.pools()).toEqual([]);
    await last.close();
  });

  it('starts counting again once a warm-up succeeds', async () => {
    const dir = scratchDir('warmflow-pool-attempts-');
    dirs.push(dir);
    const file = path.join(dir, 'home.db');
    const provider = new FakeProvider();
    const store = new PoolStateStore(file);
    const service = new PreProvisioningService({ provider, store });
    try {
      await service.preProvision({ flow, rprs, tenant: 't', keepAliveMs: 0 });
      expect(store.pools()[0]).toMatchObject({ attempts: 0, last_error: null });
    } finally {
      await service.close();
      store.close();
    }
  });
});
