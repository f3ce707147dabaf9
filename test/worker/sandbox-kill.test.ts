import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { installPaths, bwrapAvailable } from '../../src/tenancy/sandbox.js';
import { killWorker, spawnWorker, waitForReady } from '../../src/worker/spawn.js';

/** Under CI bubblewrap is installed by .ci/run: a missing one is a failure there, not a skip. */
const confined = bwrapAvailable() || process.env.CI === 'true';
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const marker = `wf-kill-${process.pid}-${Date.now()}`;
const dirs: string[] = [];

/** Processes whose command line names `marker` (the sandbox, its init, the worker). */
function survivors(of = marker): { pid: number; ppid: number; command: string }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (!command.includes(of)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      found.push({ pid: Number(entry), ppid, command: command.slice(0, 120) });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function start(resourceId: string): ChildProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-sandbox-kill-'));
  dirs.push(dir);
  return spawnWorker({
    resourceId,
    nodeIds: ['double'],
    cpuCores: 1,
    memoryGb: 0.25,
    token: 'test-token-0123456789abcdef',
    warm: {
      functions: [
        { node_id: 'double', module: path.join(fixtures, 'double.ts'), export: 'double' },
      ],
      stores: {},
    },
    cwd: dir,
    env: { PATH: '/usr/bin:/bin' },
    sandbox: {
      mechanism: 'bwrap',
      writable: [dir],
      readable: [...installPaths(), fixtures],
      cwd: dir,
    },
    listen: `unix:${path.join(dir, 'w.sock')}`,
  });
}

const exited = (child: ChildProcess): Promise<unknown> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');

afterAll(() => {
  // Whatever a failing test left, so it does not outlive the run.
  for (const { pid } of survivors()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!confined)('killing a sandboxed worker', () => {
  it('leaves nothing of its sandbox running, however early in its start', async () => {
    // bwrap forks the sandbox's init before that init asks to die with its parent: a SIGKILL
    // of bwrap alone in that window orphans the init and the worker it starts.
    for (let i = 0; i < 48; i++) {
      const child = start(`${marker}-early-${i}`);
      const delayMs = i % 4; // right after the spawn, then 1, 2 and 3 ms into bwrap's start
      if (delayMs > 0) await sleep(delayMs);
      killWorker(child);
      await exited(child);
      expect(child.signalCode).toBe('SIGKILL');
    }
    await sleep(300);
    expect(survivors(`${marker}-early-`)).toEqual([]);
  });

  it('kills a ready worker with its sandbox; its pid is the host pid of that sandbox', async () => {
    const child = start(`${marker}-ready`);
    const ready = await waitForReady(child);
    // Inside its own PID namespace the worker sees a small pid, not the host's.
    expect(ready.pid).not.toBe(child.pid);
    expect(survivors(`${marker}-ready`).map((each) => each.pid)).toContain(child.pid);
    killWorker(child);
    await exited(child);
    await sleep(100);
    expect(survivors(`${marker}-ready`)).toEqual([]);
  });
});
