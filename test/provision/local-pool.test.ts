import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rpr } from '../../src/predictor/rpr.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import type { ResourceEvent } from '../../src/provision/provider.js';
import { PoolStateStore } from '../../src/provision/pool/pool-state-store.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import type { PoolFlow } from '../../src/provision/pool/resource-plan.js';
import { runnableOver } from '../helpers/process-runnable.js';
import { scratchDir } from '../helpers/scratch.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../worker/fixtures');
const home = scratchDir('warmflow-pool-');

function flow(name: string): PoolFlow {
  return {
    template: {
      name,
      nodes: [
        { id: 'double', kind: 'function' },
        { id: 'upper', kind: 'function' },
      ],
      edges: [{ from: 'double', to: 'upper', type: 'N' }],
      transactions: [],
    },
    functions: [
      { name: 'double', module: path.join(fixtures, 'double.ts'), export: 'double' },
      { name: 'upper', module: path.join(fixtures, 'upper.js'), export: 'upper' },
    ],
  };
}
const rpr = (node_id: string, cpu_cores = 0.25): Rpr => ({
  node_id,
  resource_type: 'CPU',
  cpu_cores,
  memory_gb: 0.25,
  gpu_enabled: false,
  data_store_instance: null,
});
const rprs = [rpr('double'), rpr('upper')];

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function alive(pid: number | undefined): boolean {
  try {
    process.kill(pid!, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local provider + warm pool (real worker processes)', () => {
  let provider: LocalProvider;
  let store: PoolStateStore;
  let service: PreProvisioningService;
  const events: ResourceEvent[] = [];

  beforeAll(() => {
    provider = new LocalProvider({
      root: path.join(home, 'workers'),
      capacity: { cpu_cores: 2, memory_gb: 4, gpus: 0 },
      heartbeatMs: 200,
    });
    provider.watch((event) => events.push(event));
    store = new PoolStateStore(path.join(home, 'warmflow.db'));
    service = new PreProvisioningService({ provider, store, expiryCheckMs: 100 });
  });
  afterAll(async () => {
    await service.close();
    await provider.close();
    store.close();
  });

  it('refuses what the machine cannot give, naming what is short', async () => {
    const request = {
      tenant: 'default',
      template: 'x',
      node_ids: ['double'],
      token: 'x'.repeat(32),
      warm: { functions: [], stores: {} },
    };
    await expect(provider.provision({ ...request, rpr: rpr('double', 8) })).rejects.toThrow(
      /cpu: needs 8 cores, 2 of 2 free/,
    );
    await expect(
      provider.provision({
        ...request,
        rpr: { ...rpr('double'), memory_gb: 64, gpu_enabled: true },
      }),
    ).rejects.toThrow(/memory: needs 64 GB.*gpu: needs a GPU, this machine has none/);
    expect((await provider.capacity()).allocated.cpu_cores).toBe(0);
  });

  it('pre-provisions, claims, heartbeats, replaces a killed warm worker and releases', async () => {
    const racs = await service.preProvision({
      flow: flow('pair'),
      rprs,
      tenant: 'default',
      // Two resources per set (not the default one per placement group), to see one replaced.
      groups: [['double'], ['upper']],
      sets: 1,
      keepAliveMs: 0,
    });
    expect(racs.map((r) => r.node_id).sort()).toEqual(['double', 'upper']);
    expect(
      racs.every((r) => r.status === 'ready' && r.network_address.startsWith('127.0.0.1:')),
    ).toBe(true);
    expect(store.resources({ template: 'pair' }).map((r) => r.state)).toEqual(['ready', 'ready']);

    const claim = service.claim('pair', 'default');
    expect(claim).not.toBeNull();
    expect(service.claim('pair', 'other-tenant')).toBeNull();
    await claim!.clientFor('double').ping();
    expect(
      store.resources({ template: 'pair' }).filter((r) => r.claim_id === claim!.claim_id),
    ).toHaveLength(2);

    // Heartbeats arrive with measured usage.
    const beat = await until('a usage heartbeat', () =>
      events.find(
        (e): e is Extract<ResourceEvent, { type: 'usage' }> =>
          e.type === 'usage' && e.resource_id === claim!.racs[0].resource_id,
      ),
    );
    expect(beat.usage.rss_bytes).toBeGreaterThan(0);

    // The pool refills behind the claim; kill -9 one refilled warm worker and see it replaced.
    const refilled = await until('a refilled ready set', () =>
      service.status({ template: 'pair' })[0].sets.find((s) => s.state === 'ready'),
    );
    const victim = refilled.resources[0];
    process.kill(victim.process_id!, 'SIGKILL');
    await until('the exit event', () =>
      events.find((e) => e.type === 'exited' && e.resource_id === victim.resource_id),
    );
    const replaced = await until('a replacement', () => {
      const set = service.status({ template: 'pair' })[0].sets.find((s) => s.state === 'ready');
      return set !== undefined && !set.resources.some((r) => r.resource_id === victim.resource_id)
        ? set
        : undefined;
    });
    expect(replaced.resources).toHaveLength(2);

    // Releasing returns the set; the pool trims back to its target of one ready set.
    await service.release(claim!);
    await until('trim to target', () => {
      const status = service.status({ template: 'pair' })[0];
      return (
        status.ready_sets === 1 &&
        status.warming_sets === 0 &&
        status.claimed_sets === 0 &&
        status.held.resources === 2
      );
    });
    await until(
      'only the kept set alive',
      async () => (await provider.list({ template: 'pair' })).length === 2,
    );
    // The RACs handed out with the claim are documents: the pool does not change them later;
    // its own view says what the resources are now.
    for (const rac of claim!.racs) expect(rac.status).toBe('claimed');
    const now = service.status({ template: 'pair' })[0];
    expect(now.sets.flatMap((set) => set.resources.map((r) => r.status))).toEqual([
      'ready',
      'ready',
    ]);
  });

  it.skipIf(!existsSync('/proc/self/task'))(
    'wakes the threads of the set a claim would take when a request comes, for that tenant only',
    async () => {
      const [rac] = await service.preProvision({
        flow: flow('woken'),
        rprs,
        tenant: 'default',
        keepAliveMs: 0,
      });
      try {
        const idle = (during?: () => Promise<void>): Promise<number> =>
          runnableOver(rac.process_id!, 100, during);
        // Woken again and again for 5 ms, every ~4 ms for ~40 ms: the threads poll that long.
        // Measured as the time they are runnable, not their CPU time, which a loaded machine
        // cuts short: polling, 87–175 ms over the window here (threads and run queue), with
        // or without three busy loops beside; a thread that ignores wake-ups, 5–10 ms.
        const wake = (tenant: string) => async (): Promise<void> => {
          for (const until = performance.now() + 40; performance.now() < until;) {
            service.wake('woken', tenant, 5);
            await new Promise((resolve) => setTimeout(resolve, 4));
          }
        };
        // Once the resource's warm-up run is over (its log says so), it sleeps.
        const log = path.join(home, 'workers', 'default', rac.resource_id, 'worker.log');
        await until('the warm-up to end', () =>
          existsSync(log) ? readFileSync(log, 'utf8').includes('data plane warmed up') : false,
        );
        await until('the worker to sleep', async () => (await idle()) < 5);
        const other = await idle(wake('other-tenant'));
        const woken = await idle(wake('default'));
        const after = await idle();
        expect(woken).toBeGreaterThan(50);
        // Another tenant's request wakes nothing, and a wake-up ends.
        expect(other).toBeLessThan(woken / 4);
        expect(after).toBeLessThan(woken / 4);
      } finally {
        await service.down({ template: 'woken' });
      }
    },
  );

  it('expires an idle pool after its keep-alive', async () => {
    const racs = await service.preProvision({
      flow: flow('brief'),
      rprs: [rpr('double'), rpr('upper')],
      tenant: 'default',
      keepAliveMs: 300,
    });
    expect(racs.every((r) => alive(r.process_id))).toBe(true);
    await until('expiry', () => service.status({ template: 'brief' }).length === 0);
    await until('workers gone', () => racs.every((r) => !alive(r.process_id)));
    expect(store.pools().some((p) => p.template === 'brief')).toBe(false);
  });

  it('a restarted orchestrator kills the workers its predecessor left and rebuilds the pool', async () => {
    const before = store.resources({ template: 'pair' }).map((r) => r.rac);
    expect(before.every((r) => alive(r.process_id))).toBe(true);
    const second = new LocalProvider({
      root: path.join(home, 'workers'),
      capacity: { cpu_cores: 2, memory_gb: 4, gpus: 0 },
    });
    const restarted = new PreProvisioningService({ provider: second, store });
    try {
      const result = await restarted.restore();
      expect(result.killed).toBe(before.length);
      expect(result.restored).toContain('default/pair');
      await until('old workers gone', () => before.every((r) => !alive(r.process_id)));
      expect(restarted.claim('pair', 'default')).not.toBeNull();
    } finally {
      await restarted.down();
      await second.close();
    }
  });
});
