import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The children of `pid`, over all its threads (`/proc/PID/task/TID/children`); none once it is gone. */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const task of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list !== '') children.push(...list.split(/\s+/).map(Number));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return children;
}

/** A process and all its descendants, the process first (at most 1024). */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0 && tree.length < 1024) {
    const next = pending.shift()!;
    tree.push(next);
    pending.push(...childrenOf(next));
  }
  return tree;
}

/** The state letter of `/proc/PID/stat` (`R`, `S`, `T`, `Z`…), or null once the process is gone. */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * Kills `pid` and every process under it, leaving none behind. Each process is stopped
 * (SIGSTOP) before its children are read, so none can start another meanwhile; then all are
 * killed. A plain SIGKILL of `pid` is not enough for a bubblewrap sandbox: bwrap's PID-namespace
 * init sets its parent-death signal only after it is forked, and when the outer bwrap is
 * killed in that window the init, and the command it starts, run on with PPID 1 for good.
 * Killing that init kills everything in its namespace.
 *
 * Resolves once every signal is sent (within about `stopWaitMs` for each process that does not
 * stop at once), not when the processes are reaped.
 */
export async function killProcessTree(pid: number, stopWaitMs = 50): Promise<void> {
  const stopped: number[] = [];
  const pending = [pid];
  while (pending.length > 0 && stopped.length < 1024) {
    const next = pending.shift()!;
    signal(next, 'SIGSTOP');
    stopped.push(next);
    // A process is stopped when it next leaves the kernel; one in the middle of a fork
    // finishes it first, so its children are read only once it shows as stopped.
    const deadline = performance.now() + stopWaitMs;
    for (;;) {
      const state = stateOf(next);
      if (state === null || state === 'T' || state === 't' || state === 'Z' || state === 'X') break;
      if (performance.now() > deadline) break;
      await sleep(0);
    }
    pending.push(...childrenOf(next));
  }
  for (const each of stopped.reverse()) signal(each, 'SIGKILL');
}
