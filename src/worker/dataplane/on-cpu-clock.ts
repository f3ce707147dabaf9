import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Milliseconds during which the calling thread ran or could not be told from running:
 * wall time (`performance.now()`) less the time the thread spent runnable but waiting for
 * a CPU, which Linux keeps per thread (`/proc/thread-self/schedstat`, second field, in ns,
 * added when the thread gets a CPU back). The difference of two readings around a piece
 * of synchronous work is the CPU it took on this thread, however loaded the machine:
 * a preemption inside the work ends before the second reading, so its wait is counted.
 * Time blocked on I/O inside an awaited call still counts, as it did in wall time.
 *
 * Each thread (isolate) has its own instance of this module, so the file is opened by the
 * thread it describes. Elsewhere (no such file) it is the wall clock. One reading costs
 * about 6 µs (two reads of the file).
 *
 * @example
 * ```ts
 * const started = onCpuMs();
 * runBatch();
 * stats.busy_ms += onCpuMs() - started;
 * ```
 */
export function onCpuMs(): number {
  if (fd === undefined) fd = openSchedstat();
  if (fd === null) return performance.now() - waitedNs / 1e6;
  try {
    // The wall clock is read between two readings of the wait that agree, so no wait
    // ended between them: the kernel often preempts on the way out of a read, and a wait
    // counted on one side of `now` only would make the clock jump by its length.
    let before = readWaitNs(fd);
    for (let attempt = 0; ; attempt++) {
      const now = performance.now();
      waitedNs = readWaitNs(fd);
      if (waitedNs === before || attempt === 3) return now - waitedNs / 1e6;
      before = waitedNs;
    }
  } catch {
    // Keep subtracting the last wait read, so differences across the switch stay right.
    fd = null;
    return performance.now() - waitedNs / 1e6;
  }
}

/** The open schedstat file of this thread; null where there is none. */
let fd: number | null | undefined;
/** The run-queue wait last read (ns). */
let waitedNs = 0;
const buffer = Buffer.alloc(96);

function openSchedstat(): number | null {
  try {
    const opened = openSync('/proc/thread-self/schedstat', 'r');
    // A worker thread's file descriptors are the process's: closed when the thread ends.
    process.once('exit', () => closeSync(opened));
    readWaitNs(opened);
    return opened;
  } catch {
    return null;
  }
}

function readWaitNs(file: number): number {
  return schedstatWaitNs(buffer, readSync(file, buffer, 0, buffer.length, 0));
}

/**
 * The run-queue wait of a schedstat line ("run_ns wait_ns timeslices"), parsed from its
 * first `length` bytes without making a string (it is read once per batch and node).
 */
export function schedstatWaitNs(bytes: Uint8Array, length: number): number {
  let i = 0;
  while (i < length && bytes[i] !== 32) i++;
  let value = 0;
  for (i++; i < length; i++) {
    const c = bytes[i];
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return value;
}
