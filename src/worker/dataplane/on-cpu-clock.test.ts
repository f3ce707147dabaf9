import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onCpuMs, schedstatWaitNs } from './on-cpu-clock.js';

describe('schedstatWaitNs', () => {
  it('reads the second field of a schedstat line', () => {
    const line = Buffer.from('3827291 3002439 5\n');
    expect(schedstatWaitNs(line, line.length)).toBe(3002439);
    expect(schedstatWaitNs(line, 12)).toBe(3002);
    expect(schedstatWaitNs(Buffer.from('12 0 1\n'), 7)).toBe(0);
  });
});

describe('onCpuMs', () => {
  it('advances while the thread works, never backwards nor ahead of the wall clock', () => {
    const wall0 = performance.now();
    const first = onCpuMs();
    let last = first;
    // Work until the clock has counted 5 ms of it (however long a loaded machine takes).
    while (last - first < 5 && performance.now() - wall0 < 10_000) {
      const now = onCpuMs();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(last - first).toBeGreaterThanOrEqual(5);
    expect(last - first).toBeLessThanOrEqual(performance.now() - wall0);
  });

  it.runIf(existsSync('/proc/thread-self/schedstat'))(
    'counts time the thread is blocked (not waiting for a CPU) like the wall clock',
    () => {
      // Blocked, not runnable: no run-queue wait accrues. A clock of CPU time would count
      // ~0 ms here. The best of three tries: on a loaded machine a preemption in the middle
      // of a reading (its wait counted on one side of the wall clock only) can take a few
      // ms off one of them.
      const counted: number[] = [];
      for (let attempt = 0; attempt < 3 && !counted.some((ms) => ms >= 29); attempt++) {
        const before = onCpuMs();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
        counted.push(onCpuMs() - before);
      }
      expect(Math.max(...counted)).toBeGreaterThanOrEqual(29);
    },
  );
});
