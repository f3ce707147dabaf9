import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time (ms) the threads of process `pid` have run so far, from the kernel's per-thread
 * counters (`/proc/PID/task/*\/schedstat`, ns). Linux only.
 */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return ns / 1e6;
}

/** CPU time (ms) process `pid` takes over the next `ms` of wall time, while the caller waits. */
export async function cpuOver(
  pid: number,
  ms: number,
  during?: () => Promise<void>,
): Promise<number> {
  const before = processCpuMs(pid);
  await Promise.all([new Promise((resolve) => setTimeout(resolve, ms)), during?.()]);
  return processCpuMs(pid) - before;
}
