import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WarmflowError } from '../../errors.js';
import { processTree } from '../../process-tree.js';

/**
 * How a local provider places its workers on the machine's CPUs:
 * - `none` (default): every process may run on every CPU; the kernel places them.
 * - `exclusive`: a resource asking for a whole number of cores gets that many CPUs of its own
 *   (its worker process and every thread of it may run only there, and nothing else may),
 *   while at least one CPU stays shared by the orchestrator and every resource without CPUs of
 *   its own — the static policy of Kubernetes' CPU manager. A resource that does not fit keeps
 *   to the shared CPUs.
 *
 * Why it matters on a small machine: a socket write wakes its reader with a "sync" wake-up,
 * which the scheduler often places on the writer's own CPU, so a warm run's data-plane thread
 * and the orchestrator that just sent it the run take turns on one CPU while the other idles.
 * With CPUs of its own the thread runs beside the orchestrator. It also bounds the resource's
 * CPU for real: it can use no more cores than it was given.
 */
export type CpuPinningMode = 'none' | 'exclusive';

/** Parses a kernel CPU list (`0-3,8,10-11`) into sorted CPU numbers. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new Error(`not a CPU list: "${text.trim()}"`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from || to - from > 4096) throw new Error(`not a CPU list: "${text.trim()}"`);
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Formats CPU numbers as a kernel CPU list (`0-3,8`). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The CPUs a process (`PID`, `self`) or one thread of it (`PID/task/TID`) may run on, from
 * its `/proc` status; null when it cannot be read.
 */
export function cpusOf(pid: number | string): number[] | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
    return line === null ? null : parseCpuList(line[1]);
  } catch {
    return null;
  }
}

/** The `taskset` program (util-linux) on PATH, or null. */
export function findTaskset(): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'taskset');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * The CPU ledger of a local provider in `exclusive` mode: which CPUs are given to which
 * resource, which are shared, and the affinity of every process accordingly.
 */
export class CpuPinning {
  readonly #taskset: string;
  /** The CPUs this provider places on: the ones the orchestrator may use when it starts. */
  readonly cpus: readonly number[];
  readonly #given = new Map<string, number[]>();
  /** Processes (trees) kept on the shared CPUs, by resource id. */
  readonly #shared = new Map<string, number>();
  #applied: string;
  /** The placements under way, one after the other. */
  #applying: Promise<void> = Promise.resolve();

  constructor() {
    const taskset = findTaskset();
    if (taskset === null)
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        'CPU pinning needs taskset, not found on PATH',
        {
          hint: 'install util-linux (Debian: apt-get install util-linux), or leave CPU pinning off',
        },
      );
    this.#taskset = taskset;
    const own = cpusOf('self');
    this.cpus = own ?? [...Array(Math.max(1, os.availableParallelism())).keys()].map((cpu) => cpu);
    this.#applied = formatCpuList(this.cpus);
  }

  /** CPUs nobody has of their own. */
  get shared(): number[] {
    const taken = new Set([...this.#given.values()].flat());
    return this.cpus.filter((cpu) => !taken.has(cpu));
  }

  /** The CPUs given to `resourceId`, if any. */
  of(resourceId: string): number[] | undefined {
    return this.#given.get(resourceId);
  }

  /**
   * Gives `resourceId` `cores` CPUs of its own when `cores` is a whole number and at least
   * one CPU stays shared; null when it does not fit (the resource then keeps to the shared
   * CPUs). The highest free CPUs go first, so the orchestrator keeps the low ones.
   */
  give(resourceId: string, cores: number): number[] | null {
    if (!Number.isInteger(cores) || cores < 1) return null;
    const free = this.shared;
    if (free.length - cores < 1) return null;
    const cpus = free.slice(-cores);
    this.#given.set(resourceId, cpus);
    return cpus;
  }

  /** A resource without CPUs of its own, kept on the shared ones while it runs. */
  share(resourceId: string, pid: number): void {
    this.#shared.set(resourceId, pid);
  }

  /** A resource has exited: its CPUs (if any) are shared again. */
  forget(resourceId: string): void {
    this.#given.delete(resourceId);
    this.#shared.delete(resourceId);
  }

  /** `taskset -c LIST` before a command, so it and everything it starts runs on `cpus` only. */
  wrap(
    cpus: readonly number[],
    command: string,
    args: string[],
  ): { command: string; args: string[] } {
    return { command: this.#taskset, args: ['-c', formatCpuList(cpus), command, ...args] };
  }

  /**
   * Puts this process and every shared resource on the shared CPUs, when they changed since
   * the last placement; resolves once done. Done when a resource starts or ends (a `taskset`
   * per process, a few ms each, run beside the event loop, not on it), one placement after
   * the other, each with the ledger as it is when it starts.
   */
  apply(): Promise<void> {
    this.#applying = this.#applying.then(async () => {
      const list = formatCpuList(this.shared);
      if (list === this.#applied) return;
      this.#applied = list;
      const pids = [process.pid, ...[...this.#shared.values()].flatMap((pid) => processTree(pid))];
      await Promise.all(pids.map((pid) => this.#pin(pid, list)));
    });
    return this.#applying;
  }

  /** Every CPU shared again, this process included (the provider is closing). */
  restore(): Promise<void> {
    this.#given.clear();
    return this.apply();
  }

  #pin(pid: number, list: string): Promise<void> {
    // A process that ended meanwhile has nothing to place: its failure is not one.
    return new Promise((resolve) =>
      execFile(this.#taskset, ['-a', '-p', '-c', list, String(pid)], () => resolve()),
    );
  }
}
