import { readFile } from 'node:fs/promises';
import { killProcessTree } from '../../process-tree.js';
import type { Rac } from '../rac.js';

/** Whether `pid` is (still) the worker of `resourceId`: its command line names that resource. */
async function isWorkerOf(pid: number, resourceId: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(resourceId);
  } catch {
    return false; // gone, or no /proc (then a recycled pid is never killed by mistake)
  }
}

/**
 * Kills the workers of resources a previous orchestrator recorded, if they still run. A pid is
 * only signalled when its command line names the recorded resource id, so a recycled pid of some
 * other process is left alone. Resolves with how many were killed.
 */
export async function killStaleWorkers(racs: Rac[]): Promise<number> {
  let killed = 0;
  for (const rac of racs) {
    const pid = rac.process_id;
    if (pid === undefined || !(await isWorkerOf(pid, rac.resource_id))) continue;
    // With whatever it started: a sandboxed worker's pid is its sandbox's.
    await killProcessTree(pid);
    killed++;
  }
  return killed;
}
