import { afterEach, describe, expect, it } from 'vitest';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { FakeProvider } from './fake-provider.js';
import { oneNodePool } from './one-node-pool.js';

const { flow, rprs } = oneNodePool('slow-to-warm');

/** A provider whose resources come up only when the test opens the gate (a warm-up under way). */
function gatedProvider() {
  const provider = new FakeProvider();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const provision = provider.provision.bind(provider);
  provider.provision = async (...args) => {
    await gate;
    return provision(...args);
  };
  return { provider, open };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function start() {
  const { provider, open } = gatedProvider();
  const service = new PreProvisioningService({ provider });
  closers.push(async () => {
    await service.close();
    await provider.close();
  });
  // The pool is being filled: its set is warming, nothing is ready.
  const filling = service.preProvision({ flow, rprs, tenant: 't', keepAliveMs: 0 });
  return { provider, service, open, filling };
}

/** Settles within `ms`, or says it is still pending. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe('an execution that finds its pool still warming waits for the set', () => {
  it('claims the warming set once it is ready; a second caller does not wait for the same set', async () => {
    const { service, open, filling } = start();
    await new Promise((r) => setTimeout(r, 20));
    expect(service.claim('slow-to-warm', 't')).toBeNull();
    const first = service.claimWarming('slow-to-warm', 't');
    // One set is warming and one caller waits for it: another answers at once.
    expect(await within(service.claimWarming('slow-to-warm', 't'), 200)).toBeNull();
    expect(await within(first, 100)).toBe('pending');
    open();
    const racs = await filling;
    const claim = await within(first, 2000);
    expect(claim).not.toBe('pending');
    expect(claim).not.toBeNull();
    if (claim === null || claim === 'pending') return;
    expect(claim.resources.map((r) => r.rac.resource_id)).toEqual(racs.map((r) => r.resource_id));
    expect(service.status({ tenant: 't' })[0].claimed_sets).toBe(1);
    await service.release(claim);
  });

  it('gives up when the pool is taken down meanwhile, or after its bound', async () => {
    const { service, open } = start();
    await new Promise((r) => setTimeout(r, 20));
    const bounded = await within(service.claimWarming('slow-to-warm', 't', undefined, 50), 1000);
    expect(bounded).toBeNull();
    const waiting = service.claimWarming('slow-to-warm', 't');
    expect(await within(waiting, 100)).toBe('pending');
    await service.down({ tenant: 't' });
    expect(await within(waiting, 1000)).toBeNull();
    open();
  });

  it('answers at once when there is no pool, or nothing warming', async () => {
    const provider = new FakeProvider();
    const service = new PreProvisioningService({ provider });
    closers.push(async () => {
      await service.close();
      await provider.close();
    });
    expect(await within(service.claimWarming('slow-to-warm', 't'), 100)).toBeNull();
    await service.preProvision({ flow, rprs, tenant: 't', keepAliveMs: 0 });
    const claim = service.claim('slow-to-warm', 't');
    expect(claim).not.toBeNull();
    // The only set is claimed and the refill has not started: nothing to wait for.
    expect(await within(service.claimWarming('slow-to-warm', 't'), 100)).toBeNull();
    await service.release(claim!);
  });
});
