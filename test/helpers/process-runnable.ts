import { readFileSync, readdirSync } from 'node:fs';

/**
 * Time (ms) the threads of process `pid` have spent runnable so far: on a CPU, plus waiting
 * in the run queue for one (the first two fields of `/proc/PID/task/*\/schedstat`, ns). A
 * thread that keeps its loop turning accrues it for as long as it does, however little of a
 * CPU a loaded machine gives it; a sleeping one accrues none. Linux only.
 */
export function processRunnableMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [running, waiting] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8')
        .split(' ')
        .map(Number);
      ns += running + waiting;
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return ns / 1e6;
}

/** Runnable time (ms) process `pid` takes over the next `ms` of wall time, while the caller waits. */
export async function runnableOver(
  pid: number,
  ms: number,
  during?: () => Promise<void>,
): Promise<number> {
  const before = processRunnableMs(pid);
  await Promise.all([new Promise((resolve) => setTimeout(resolve, ms)), during?.()]);
  return processRunnableMs(pid) - before;
}
