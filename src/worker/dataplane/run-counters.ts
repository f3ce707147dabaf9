import { createHash, randomBytes } from 'node:crypto';

/**
 * A run's shared counters: one "next chunk" counter per source, which the threads take file
 * chunks from, behind a header of two 64-bit words:
 * - the **claim**: a 64-bit tag of the execution the counters belong to (0: none yet). A data-
 *   plane thread that takes a run from its own channel, before the worker's main thread has
 *   handed it over, claims the counters it holds for the next run; the main thread claims the
 *   same counters for the run it deploys. Whoever claims second sees whether the counters are
 *   its run's, so counters a run has already read from never serve another run;
 * - the **serial**: random, set when made, so a thread can tell whether the counters the main
 *   thread deploys a run with are the ones it took the run with.
 *
 * The main thread makes the counters of the next run ahead and sends them to every thread with
 * each deploy ({@link ARMED_SOURCES} sources); a run of more sources gets counters of its own.
 */
export const ARMED_SOURCES = 16;

const HEADER_BYTES = 16;

/** Fresh counters for `sources` sources (at least {@link ARMED_SOURCES}), unclaimed. */
export function newRunCounters(sources = ARMED_SOURCES): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEADER_BYTES + 4 * Math.max(ARMED_SOURCES, sources));
  new BigInt64Array(buffer, 0, 2)[1] = randomBytes(8).readBigInt64LE(0);
  return buffer;
}

/** The 64-bit tag of execution `id` (never 0). */
export function runTag(id: string): bigint {
  const tag = createHash('sha256').update(id).digest().readBigInt64LE(0);
  return tag === 0n ? 1n : tag;
}

/**
 * Claims `counters` for the run tagged `tag`: true when they were free or already that run's,
 * false when another run holds them.
 */
export function claimRunCounters(counters: SharedArrayBuffer, tag: bigint): boolean {
  const held = Atomics.compareExchange(new BigInt64Array(counters, 0, 1), 0, 0n, tag);
  return held === 0n || held === tag;
}

/** The serial the counters were made with. */
export function runCountersSerial(counters: SharedArrayBuffer): bigint {
  return new BigInt64Array(counters, 0, 2)[1];
}

/** Whether `counters` can serve a run of `sources` sources. */
export function fitsRunCounters(counters: SharedArrayBuffer, sources: number): boolean {
  return (counters.byteLength - HEADER_BYTES) / 4 >= sources;
}

/** The chunk counters of `counters`, one per source. */
export function chunkCounters(counters: SharedArrayBuffer): Int32Array {
  return new Int32Array(counters, HEADER_BYTES);
}
