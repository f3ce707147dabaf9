import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePolicy } from '../parse-policy.js';
import { simulate } from '../simulate.js';
import { traceOf } from '../trace/trace-fixture.js';
import { PolicyKeeper, type LiveUnit } from './policy-keeper.js';

afterEach(() => vi.useRealTimers());

describe('PolicyKeeper', () => {
  const rows = [
    [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
  ];

  for (const spec of ['fixed:3', 'hybrid', 'fixed:1']) {
    it(`counts the cold starts the simulation counts (${spec}) and acts on the pools`, async () => {
      vi.useFakeTimers({ now: 0 });
      const actions: string[] = [];
      const keeper = new PolicyKeeper({
        policy: parsePolicy(spec),
        minuteMs: 1000,
        pools: {
          warm: (u) => (actions.push(`warm ${u.flow_id} @${Date.now()}`), Promise.resolve()),
          release: (u) => (actions.push(`release ${u.flow_id} @${Date.now()}`), Promise.resolve()),
        },
      });
      const units: LiveUnit[] = rows.map((_, i) => ({
        tenant: 't',
        flow_id: `f${i}`,
        template: `f${i}`,
        memory_mb: 100,
      }));
      for (let t = 0; t < rows[0].length; t++) {
        await vi.advanceTimersByTimeAsync(t * 1000 + 500 - Date.now());
        rows.forEach((row, i) => {
          if (row[t] > 0) keeper.observe(units[i]);
        });
      }
      const [sim] = simulate(traceOf(rows, [100, 100, 100]), [parsePolicy(spec)]);
      expect(keeper.counts('t').cold_starts).toBe(sim.cold_starts);
      expect(keeper.decisions('t').filter((d) => d.action === 'cold-start')).toHaveLength(
        sim.cold_starts,
      );
      if (spec === 'fixed:3') {
        // f0 invoked at minute 0 and 3: warmed for minute 1 right away, released when
        // minute 3's window (4–6) ends unused, at the start of minute 7.
        expect(actions).toContain('warm f0 @500');
        expect(actions).toContain('release f0 @7000');
      }
      keeper.close();
    });
  }

  it('releases when the window starts later and pre-warms ahead of it', async () => {
    vi.useFakeTimers({ now: 0 });
    const actions: string[] = [];
    const keeper = new PolicyKeeper({
      policy: {
        spec: 'later',
        needsReference: false,
        unit: () => ({ afterInvocation: () => ({ pre: 3, ka: 2, reason: 'test' }) }),
      },
      minuteMs: 1000,
      pools: {
        warm: (u) => (actions.push(`warm ${u.flow_id} @${Date.now()}`), Promise.resolve()),
        release: (u) => (actions.push(`release ${u.flow_id} @${Date.now()}`), Promise.resolve()),
      },
    });
    keeper.observe({ tenant: 't', flow_id: 'f', template: 'f', memory_mb: 1 });
    await vi.advanceTimersByTimeAsync(10_000);
    // Window after minute 0: unloaded 1–3, loaded 4–5: release at 1, warm at 4, release at 6.
    expect(actions).toEqual(['release f @1000', 'warm f @4000', 'release f @6000']);
    expect(keeper.decisions('t').map((d) => d.action)).toEqual([
      'cold-start',
      'window',
      'release',
      'pre-warm',
      'release',
    ]);
    keeper.close();
  });

  it('warms ahead of a window by the measured warm-up and its deviation', async () => {
    vi.useFakeTimers({ now: 0 });
    const actions: string[] = [];
    const takes = [200, 600];
    const keeper = new PolicyKeeper({
      policy: {
        spec: 'later',
        needsReference: false,
        unit: () => ({ afterInvocation: () => ({ pre: 3, ka: 2, reason: 'test' }) }),
      },
      minuteMs: 1000,
      pools: {
        warm: (u) => {
          actions.push(`warm ${u.flow_id} @${Date.now()}`);
          return new Promise((r) => setTimeout(r, takes.shift()));
        },
        release: () => Promise.resolve(),
      },
    });
    const unit = { tenant: 't', flow_id: 'f', template: 'f', memory_mb: 1 };
    expect(keeper.leadMs).toBe(0);
    keeper.observe(unit);
    await vi.advanceTimersByTimeAsync(6500);
    // One warm-up of 200 ms: lead 200 + 4 × 100.
    expect(keeper.leadMs).toBe(600);
    keeper.observe(unit); // minute 6: window 10–11, warmed 600 ms before 10 000
    await vi.advanceTimersByTimeAsync(6000);
    expect(actions).toEqual(['warm f @4000', 'warm f @9400']);
    // Then one of 600 ms: mean 250, deviation 0.75 × 100 + 0.25 × 400 = 175.
    expect(keeper.leadMs).toBe(950);
    keeper.close();
  });
});
