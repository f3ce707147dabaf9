import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * vitest's global setup: once every test file is done, no process a test started may still be
 * running. One is recognised by its working folder (or command line) in a test's temporary
 * folder — a test home, a scratch folder — and by having started during the run. Any found is
 * killed, and the run fails naming it: a worker, a sandbox or a shell left behind goes on
 * using the machine after the tests (a sandbox's init once did, a forking shell once did for
 * half an hour).
 */
const PREFIXES = ['warmflow-', 'wf-', 'predict-', 'profile-cli-', 'prices-'];

/** Seconds since boot at which process `pid` started, or null once it is gone. */
function startedAt(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) / 100; // starttime, in clock ticks (USER_HZ is 100 on Linux)
  } catch {
    return null;
  }
}

function uptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

function inTestFolder(value: string): boolean {
  const tmp = os.tmpdir();
  // The checkout itself may be in the temp folder (a CI clone): its own processes are not.
  const repo = process.cwd();
  if (value === repo || value.startsWith(repo + path.sep)) return false;
  if (!value.startsWith(tmp + path.sep)) return false;
  const first = value.slice(tmp.length + 1).split(path.sep)[0];
  return PREFIXES.some((prefix) => first.startsWith(prefix));
}

function leftovers(since: number): { pid: number; what: string }[] {
  const found: { pid: number; what: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const started = startedAt(entry);
    if (started === null || started < since) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.length === 0) continue; // a zombie, or a kernel thread
      if (inTestFolder(cwd) || argv.some((arg) => inTestFolder(arg)))
        found.push({ pid: Number(entry), what: `${argv.join(' ').slice(0, 160)} (in ${cwd})` });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

export default function setup(): (() => Promise<void>) | undefined {
  if (process.platform !== 'linux') return undefined;
  const since = uptime();
  return async () => {
    // Give processes told to stop at the very end a moment to go.
    let left = leftovers(since);
    for (let waited = 0; left.length > 0 && waited < 3000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = leftovers(since);
    }
    if (left.length === 0) return;
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    // Said, and the run failed: vitest reports an error thrown here but still exits 0.
    console.error(
      `\n${left.length} process(es) started by the tests were still running after them (killed now):\n` +
        left.map(({ pid, what }) => `  ${pid}: ${what}`).join('\n'),
    );
    process.exitCode = 1;
  };
}
