import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { killProcessTree, processTree } from './process-tree.js';

/** Running processes (not zombies) whose command line is `sleep DURATION`. */
function sleeping(duration: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv[0].endsWith('sleep') || argv[1] !== duration) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat[stat.lastIndexOf(')') + 2] !== 'Z') found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

const shells: ChildProcess[] = [];
const durations: string[] = [];

// Whatever a test leaves, a failing one too: the shell first, so that it starts no more.
afterEach(() => {
  for (const shell of shells.splice(0)) shell.kill('SIGKILL'); // nothing once it has exited
  for (const duration of durations.splice(0))
    for (const pid of sleeping(duration)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
});

/** A shell that keeps starting `sleep`s in the background: a process tree that grows. */
async function forkingShell() {
  const duration = `${600 + Math.floor(Math.random() * 1e6) / 1e3}`;
  durations.push(duration);
  const child = spawn('/bin/sh', ['-c', `while :; do sleep ${duration} & sleep 0.005; done`], {
    stdio: 'ignore',
  });
  shells.push(child);
  const exit = once(child, 'exit');
  while (sleeping(duration).length < 3) await sleep(10);
  return { pid: child.pid!, exit, duration };
}

describe('process tree', () => {
  it('lists a process and its descendants, the process first', async () => {
    const { pid, duration } = await forkingShell();
    // Read before the tree: the shell keeps starting more meanwhile.
    const started = sleeping(duration);
    const tree = processTree(pid);
    expect(tree[0]).toBe(pid);
    for (const each of started) expect(tree).toContain(each);
  });

  it('kills a process and all it started, while it keeps starting more', async () => {
    const { pid, exit, duration } = await forkingShell();
    await killProcessTree(pid);
    await exit;
    await sleep(50);
    expect(sleeping(duration)).toEqual([]);
  });

  it('a SIGKILL of the process alone leaves its children running', async () => {
    const { pid, exit, duration } = await forkingShell();
    process.kill(pid, 'SIGKILL');
    await exit;
    await sleep(50);
    expect(sleeping(duration).length).toBeGreaterThanOrEqual(3);
  });

  it('does nothing to a process that is gone', async () => {
    const child = spawn('/bin/true');
    await once(child, 'exit');
    await expect(killProcessTree(child.pid!)).resolves.toBeUndefined();
  });
});
