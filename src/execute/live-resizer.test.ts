import { describe, expect, it } from 'vitest';
import { ResizePolicy } from '../policy/live/resize-policy.js';
import type { LiveCommit } from './live-commit.js';
import { LiveResizer, type MovableRun } from './live-resizer.js';
import type { Replacement } from './recovery.js';
import type { ResourceSession } from './resource-session.js';

/** A resource as the resizer sees it: an id and a size. */
function resource(id: string, cores: number): Replacement {
  return {
    client: {} as Replacement['client'],
    rac: { resource_id: id, rpr: { cpu_cores: cores } } as Replacement['rac'],
    warm: false,
  };
}

/**
 * A resizer over fakes: a stream whose arrivals the test sets (acknowledged + lag), a run
 * that moves when told, and a provider whose resources are ready when the test says.
 */
function harness() {
  let lag = 0;
  const commit = {
    acknowledged: 0,
    aheadLimit: null as number | null,
    sources: new Map([['s', { lag: async () => lag }]]),
    checkpoint: async (during: () => Promise<void>) => during(),
    countsFor: () => ({}),
    forget: () => undefined,
  };
  const run: MovableRun & { moves: string[]; current: ResourceSession } = {
    current: { pushedProcessed: 0 } as ResourceSession,
    moves: [],
    async moveTo(next) {
      run.moves.push(next.rac.resource_id);
      run.current = { pushedProcessed: 0 } as ResourceSession;
    },
  };
  const provisioned: Array<{ cores: number; ready: (r: Replacement) => void }> = [];
  const released: string[] = [];
  // 5 ms of CPU per record: one core carries 140 records/s at 70 %, two 280.
  const policy = new ResizePolicy({ cpuUsPerRecord: 5000, cores: 1, tuning: { maxCores: 2 } });
  const resizer = new LiveResizer({
    policy,
    run,
    first: resource('first', 1),
    commit: commit as unknown as LiveCommit,
    provision: (cores) => new Promise<Replacement>((ready) => provisioned.push({ cores, ready })),
    release: async (r) => {
      released.push(r.rac.resource_id);
    },
  });
  /** One observation `at` (ms) after `rate` records/s arrived since the last one. */
  let last = 0;
  const observe = async (at: number, rate: number) => {
    commit.acknowledged += Math.round((rate * (at - last)) / 1000);
    last = at;
    lag = 0;
    await resizer.tick(at);
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
  return { resizer, run, commit, provisioned, released, observe, settle };
}

describe('LiveResizer', () => {
  it('warms a spare of the size the policy leans to before it decides, and grows onto it', async () => {
    const { resizer, run, provisioned, released, observe, settle } = harness();
    await observe(0, 50);
    await observe(1000, 50);
    expect(provisioned).toHaveLength(0);
    // The first second above one core: a 2-core resource starts warming, no decision yet.
    await observe(2000, 300);
    expect(provisioned.map((p) => p.cores)).toEqual([2]);
    expect(resizer.resizes).toHaveLength(0);
    provisioned[0].ready(resource('spare', 2));
    // The policy decides: the spare is taken, nothing else is started.
    for (let at = 3000; resizer.resizes.length === 0 && at < 8000; at += 1000)
      await observe(at, 300);
    await resizer.stop();
    await settle();
    expect(provisioned).toHaveLength(1);
    const [grow] = resizer.resizes;
    expect(grow).toMatchObject({ direction: 'grow', to: { cpu_cores: 2, resource_id: 'spare' } });
    expect(grow.prewarmed_ms).toBeGreaterThanOrEqual(0);
    expect(grow.switched_at).not.toBeNull();
    expect(run.moves).toEqual(['spare']);
    expect(resizer.cores).toBe(2);
    // The resource moved from is released; the spare, now the run's, is not.
    expect(released).toEqual(['first']);
    expect(resizer.spares).toEqual({ started: 1, used: 1, released: 0, failed: 0 });
  });

  it('releases the spare when the lean goes (a noisy second), and at the end of the run', async () => {
    const { resizer, run, commit, provisioned, released, observe, settle } = harness();
    await observe(0, 50);
    await observe(1000, 50);
    expect(commit.aheadLimit).toBeNull();
    await observe(2000, 300);
    expect(provisioned).toHaveLength(1);
    // Leaning to grow, what is pushed ahead of the resource is kept short (a move would wait for it).
    expect(commit.aheadLimit).toBeGreaterThan(0);
    provisioned[0].ready(resource('spare-1', 2));
    await observe(3000, 20);
    await settle();
    expect(released).toEqual(['spare-1']);
    expect(commit.aheadLimit).toBeNull();
    expect(resizer.resizes).toHaveLength(0);
    // Leaning again near the end: the spare is released when the run stops, even while it warms.
    await observe(4000, 300);
    expect(provisioned).toHaveLength(2);
    const stopping = resizer.stop();
    provisioned[1].ready(resource('spare-2', 2));
    await stopping;
    expect(released).toEqual(['spare-1', 'spare-2']);
    expect(resizer.spares).toEqual({ started: 2, used: 0, released: 2, failed: 0 });
    expect(run.moves).toEqual([]);
    expect(resizer.resizes).toHaveLength(0);
  });
});
