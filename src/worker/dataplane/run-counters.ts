import { randomBytes } from 'node:crypto';

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

/** MurmurHash3's 32-bit finaliser: every input bit flips each output bit with even odds. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The 64-bit tag of execution `id` (never 0): two independent 32-bit hashes of its characters.
 * Not a cryptographic hash, and it need not be: execution ids are the orchestrator's random
 * UUIDs (a request cannot name one), so two runs' tags are equal by chance only (2^-64). It is
 * computed on a warm run's first steps, where a SHA-256 cost ~60-100 µs after an idle pause.
 */
export function runTag(id: string): bigint {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  const high = fmix32(h1 ^ id.length);
  const low = fmix32(h2 ^ Math.imul(id.length, 0x27d4eb2d));
  const tag = BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
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
