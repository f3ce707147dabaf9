import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { WarmflowError } from '../../src/errors.js';
import type { Rpr } from '../../src/predictor/rpr.js';
import type { Provider, ProvisionRequest, ResourceEvent } from '../../src/provision/provider.js';

/** What one implementation hands the conformance suite. */
export interface ProviderHarness {
  provider: Provider;
  /** A request this provider can satisfy (real module paths, token, ...) for `nodeId`. */
  request(
    nodeId: string,
    overrides?: { tenant?: string; template?: string; rpr?: Partial<Rpr> },
  ): ProvisionRequest;
  /** Frees whatever the harness started (fake servers, folders). The suite closes the provider itself. */
  cleanup?(): Promise<void>;
}

/**
 * The provider contract as tests: what every {@link Provider} must do whatever it runs
 * resources on — confirm a ready RAC and announce it, list and filter, release idempotently,
 * account capacity and refuse beyond it without leaving anything behind, honour an abort,
 * stop telling an unsubscribed listener, and release everything on close. Nothing here needs
 * to know whether a resource is a process or a pod.
 *
 * ```ts
 * describeProviderConformance('local', async () => ({ provider: new LocalProvider(), request: ... }));
 * ```
 */
export function describeProviderConformance(
  name: string,
  make: () => Promise<ProviderHarness>,
): void {
  describe(`Provider conformance: ${name}`, () => {
    let harness: ProviderHarness;
    let events: ResourceEvent[];
    let unsubscribe: () => void;

    beforeEach(async () => {
      harness = await make();
      events = [];
      unsubscribe = harness.provider.watch((event) => events.push(event));
    });

    afterEach(async () => {
      unsubscribe();
      await harness.provider.close();
      await harness.cleanup?.();
    });

    it('provisions a ready resource and confirms it with a complete RAC', async () => {
      const request = harness.request('alpha');
      const rac = await harness.provider.provision(request);
      expect(rac.status).toBe('ready');
      expect(rac.resource_id).toMatch(/\S/);
      expect(rac.network_address).toMatch(/^(\[[0-9a-f:]+\]|[^:\s]+):\d{1,5}$/);
      expect(rac).toMatchObject({
        node_id: request.rpr.node_id,
        node_ids: request.node_ids,
        template: request.template,
        tenant: request.tenant,
        provider: harness.provider.name,
      });
      expect(rac.rpr).toMatchObject({
        node_id: request.rpr.node_id,
        cpu_cores: request.rpr.cpu_cores,
        memory_gb: request.rpr.memory_gb,
      });
      expect(Number.isNaN(Date.parse(rac.ready_at ?? ''))).toBe(false);
      expect(
        events
          .filter((e) => e.type === 'ready')
          .map((e) => (e.type === 'ready' ? e.rac.resource_id : '')),
      ).toContain(rac.resource_id);
    });

    it('lists what it holds, filtered by tenant and template', async () => {
      const a = await harness.provider.provision(
        harness.request('alpha', { tenant: 'tenant-a', template: 'flow-one' }),
      );
      const b = await harness.provider.provision(
        harness.request('beta', { tenant: 'tenant-b', template: 'flow-two' }),
      );
      const ids = (racs: { resource_id: string }[]) => racs.map((r) => r.resource_id).sort();
      expect(ids(await harness.provider.list())).toEqual(ids([a, b]));
      expect(ids(await harness.provider.list({ tenant: 'tenant-a' }))).toEqual([a.resource_id]);
      expect(ids(await harness.provider.list({ template: 'flow-two' }))).toEqual([b.resource_id]);
      expect(await harness.provider.list({ tenant: 'tenant-a', template: 'flow-two' })).toEqual([]);
    });

    it('releases idempotently, and an unknown id is no error', async () => {
      const rac = await harness.provider.provision(harness.request('alpha'));
      await harness.provider.release(rac.resource_id);
      expect(await harness.provider.list()).toEqual([]);
      await harness.provider.release(rac.resource_id);
      await harness.provider.release('no-such-resource');
    });

    it('accounts capacity for what it holds and frees it on release', async () => {
      const before = await harness.provider.capacity();
      expect(before.cpu_cores).toBeGreaterThan(0);
      expect(before.memory_gb).toBeGreaterThan(0);
      const request = harness.request('alpha');
      const rac = await harness.provider.provision(request);
      const during = await harness.provider.capacity();
      expect(during.allocated.cpu_cores).toBeGreaterThanOrEqual(
        before.allocated.cpu_cores + request.rpr.cpu_cores - 1e-9,
      );
      expect(during.allocated.memory_gb).toBeGreaterThanOrEqual(
        before.allocated.memory_gb + request.rpr.memory_gb - 1e-9,
      );
      await harness.provider.release(rac.resource_id);
      const after = await harness.provider.capacity();
      expect(after.allocated.cpu_cores).toBeCloseTo(before.allocated.cpu_cores, 6);
      expect(after.allocated.memory_gb).toBeCloseTo(before.allocated.memory_gb, 6);
    });

    it('refuses a request beyond its capacity with a WarmflowError and leaves nothing behind', async () => {
      const capacity = await harness.provider.capacity();
      const tooMany = Math.ceil(capacity.cpu_cores - capacity.allocated.cpu_cores) + 1;
      const refused = harness.provider.provision(
        harness.request('huge', { rpr: { cpu_cores: tooMany } }),
      );
      await expect(refused).rejects.toBeInstanceOf(WarmflowError);
      await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(/cpu|core/i) });
      expect(await harness.provider.list()).toEqual([]);
    });

    it('honours an aborted signal without leaving a resource', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(
        harness.provider.provision(harness.request('alpha'), { signal: controller.signal }),
      ).rejects.toBeDefined();
      expect(await harness.provider.list()).toEqual([]);
    });

    it('stops telling a listener once it unsubscribed', async () => {
      unsubscribe();
      await harness.provider.provision(harness.request('alpha'));
      expect(events).toEqual([]);
    });

    it('releases everything on close', async () => {
      await harness.provider.provision(harness.request('alpha'));
      await harness.provider.provision(harness.request('beta'));
      await harness.provider.close();
      expect(await harness.provider.list()).toEqual([]);
    });
  });
}
