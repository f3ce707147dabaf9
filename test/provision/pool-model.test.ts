import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Rpr } from '../../src/predictor/rpr.js';
import type { Claim } from '../../src/provision/pool/claim.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import type { PoolFlow } from '../../src/provision/pool/resource-plan.js';
import { FakeProvider } from './fake-provider.js';

const POOLS = [
  { tenant: 'a', template: 't1', sets: 1 },
  { tenant: 'b', template: 't1', sets: 2 }, // same template name, other tenant
  { tenant: 'a', template: 't2', sets: 1 },
] as const;
type PoolKey = (typeof POOLS)[number];

function flow(template: string): PoolFlow {
  return {
    template: {
      name: template,
      nodes: [
        { id: 'f1', kind: 'function' },
        { id: 'f2', kind: 'function' },
      ],
      edges: [{ from: 'f1', to: 'f2', type: 'X' }],
      transactions: [],
    },
    functions: [
      { name: 'f1', module: '/fake/f1.js', export: 'f1' },
      { name: 'f2', module: '/fake/f2.js', export: 'f2' },
    ],
  };
}
const rpr = (node_id: string): Rpr => ({
  node_id,
  resource_type: 'CPU',
  cpu_cores: 0.25,
  memory_gb: 0.1,
  gpu_enabled: false,
  data_store_instance: null,
});

interface Real {
  service: PreProvisioningService;
  provider: FakeProvider;
  claims: Array<{ claim: Claim; pool: PoolKey; dead: Set<string> }>;
}
interface Model {
  open: number;
}

async function settle(real: Real): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const statuses = real.service.status();
    if (statuses.every((s) => s.warming_sets === 0 && s.ready_sets === s.target_sets)) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(
    `pools did not settle: ${JSON.stringify(real.service.status().map((s) => [s.tenant, s.template, s.ready_sets, s.warming_sets]))}`,
  );
}

async function checkInvariants(real: Real): Promise<void> {
  await settle(real);
  const seen = new Set<string>();
  let listed = 0;
  for (const pool of POOLS) {
    const [status] = real.service.status({ tenant: pool.tenant, template: pool.template });
    expect(status.ready_sets).toBe(pool.sets);
    expect(status.claimed_sets).toBe(real.claims.filter((c) => c.pool === pool).length);
    for (const set of status.sets) {
      for (const rac of set.resources) {
        expect(rac.tenant).toBe(pool.tenant);
        expect(rac.template).toBe(pool.template);
        expect(seen.has(rac.resource_id)).toBe(false); // never in two sets or two pools
        seen.add(rac.resource_id);
        listed++;
      }
    }
  }
  const dead = real.claims.reduce((sum, c) => sum + c.dead.size, 0);
  expect((await real.provider.list()).length).toBe(listed - dead); // nothing leaked, nothing lost
}

function recordClaim(real: Real, pool: PoolKey, claim: Claim | null): void {
  expect(claim).not.toBeNull();
  const held = new Set(real.claims.flatMap((c) => c.claim.racs.map((r) => r.resource_id)));
  for (const rac of claim!.racs) {
    expect(rac.tenant).toBe(pool.tenant);
    expect(rac.template).toBe(pool.template);
    expect(held.has(rac.resource_id)).toBe(false); // no double claim
  }
  expect(claim!.tenant).toBe(pool.tenant);
  real.claims.push({ claim: claim!, pool, dead: new Set() });
}

const poolArb = fc.constantFrom(...POOLS);

class ClaimCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pool: PoolKey) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    recordClaim(real, this.pool, real.service.claim(this.pool.template, this.pool.tenant));
    model.open++;
    await checkInvariants(real);
  }
  toString = () => `claim(${this.pool.tenant}/${this.pool.template})`;
}

class BurstCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pool: PoolKey,
    readonly callers: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    // Many callers in one turn: exactly as many succeed as sets were ready, each a different set.
    const results = Array.from({ length: this.callers }, () =>
      real.service.claim(this.pool.template, this.pool.tenant),
    );
    const won = results.filter((c): c is Claim => c !== null);
    expect(won.length).toBe(Math.min(this.callers, this.pool.sets));
    expect(new Set(won.map((c) => c.set_id)).size).toBe(won.length);
    for (const claim of won) recordClaim(real, this.pool, claim);
    model.open += won.length;
    await checkInvariants(real);
  }
  toString = () => `burst(${this.pool.tenant}/${this.pool.template} x${this.callers})`;
}

class ReleaseCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly index: number,
    readonly retire: boolean,
  ) {}
  check = (model: Readonly<Model>) => model.open > 0;
  async run(model: Model, real: Real): Promise<void> {
    const [held] = real.claims.splice(this.index % real.claims.length, 1);
    await real.service.release(held.claim, { retire: this.retire });
    await real.service.release(held.claim); // a second release is a no-op
    model.open--;
    await checkInvariants(real);
  }
  toString = () => `release(#${this.index}${this.retire ? ', retire' : ''})`;
}

class KillReadyCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pool: PoolKey,
    readonly which: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    const [status] = real.service.status({
      tenant: this.pool.tenant,
      template: this.pool.template,
    });
    const ready = status.sets.filter((s) => s.state === 'ready').flatMap((s) => s.resources);
    const victim = ready[this.which % ready.length].resource_id;
    await real.provider.kill(victim);
    await checkInvariants(real);
    const after = real.service
      .status()
      .flatMap((s) => s.sets.flatMap((set) => set.resources.map((r) => r.resource_id)));
    expect(after).not.toContain(victim); // replaced
  }
  toString = () => `killReady(${this.pool.tenant}/${this.pool.template} #${this.which})`;
}

class KillClaimedCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.open > 0;
  async run(_model: Model, real: Real): Promise<void> {
    const held = real.claims[this.index % real.claims.length];
    const alive = held.claim.racs.map((r) => r.resource_id).filter((id) => !held.dead.has(id));
    if (alive.length === 0) return;
    await real.provider.kill(alive[0]);
    held.dead.add(alive[0]);
    await checkInvariants(real);
  }
  toString = () => `killClaimed(#${this.index})`;
}

describe('warm pool model (fast-check commands, in-process workers)', () => {
  it('never double-claims, never crosses tenants, replaces and releases exactly', async () => {
    const commands = [
      poolArb.map((p) => new ClaimCommand(p)),
      fc.tuple(poolArb, fc.integer({ min: 2, max: 4 })).map(([p, n]) => new BurstCommand(p, n)),
      fc.tuple(fc.nat(), fc.boolean()).map(([i, r]) => new ReleaseCommand(i, r)),
      fc.tuple(poolArb, fc.nat()).map(([p, w]) => new KillReadyCommand(p, w)),
      fc.nat().map((i) => new KillClaimedCommand(i)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 12 }), async (cmds) => {
        const provider = new FakeProvider();
        const service = new PreProvisioningService({ provider, defaultKeepAliveMs: 0 });
        const real: Real = { service, provider, claims: [] };
        try {
          for (const pool of POOLS) {
            await service.preProvision({
              flow: flow(pool.template),
              rprs: [rpr('f1'), rpr('f2')],
              tenant: pool.tenant,
              sets: pool.sets,
            });
          }
          await fc.asyncModelRun(() => ({ model: { open: 0 }, real }), cmds);
        } finally {
          await service.close();
          await provider.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
