import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ARMED_SOURCES,
  chunkCounters,
  claimRunCounters,
  fitsRunCounters,
  newRunCounters,
  runCountersSerial,
  runTag,
} from './run-counters.js';

describe('run counters', () => {
  it('are claimed by one execution: again by it, never by another', () => {
    const counters = newRunCounters();
    const [a, b] = [runTag('run-a'), runTag('run-b')];
    expect(a).not.toBe(b);
    expect(claimRunCounters(counters, a)).toBe(true);
    expect(claimRunCounters(counters, a)).toBe(true);
    expect(claimRunCounters(counters, b)).toBe(false);
    // Fresh counters are free again, and told apart by their serial.
    const fresh = newRunCounters();
    expect(claimRunCounters(fresh, b)).toBe(true);
    expect(runCountersSerial(fresh)).not.toBe(runCountersSerial(counters));
  });

  it('keep the chunk counters apart from the claim', () => {
    const counters = newRunCounters(40);
    expect(fitsRunCounters(counters, 40)).toBe(true);
    expect(fitsRunCounters(newRunCounters(), ARMED_SOURCES + 1)).toBe(false);
    const chunks = chunkCounters(counters);
    expect(chunks.length).toBe(40);
    chunks.fill(-1);
    // Filling every chunk counter leaves the claim free and the serial as made.
    const serial = runCountersSerial(counters);
    expect(claimRunCounters(counters, runTag('x'))).toBe(true);
    expect(runCountersSerial(counters)).toBe(serial);
    expect(Atomics.add(chunkCounters(counters), 0, 1)).toBe(-1);
  });

  it('tag executions apart: 200,000 random ids, and ids a character apart, never share a tag', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200_000; i++) {
      const tag = runTag(randomUUID());
      expect(tag).not.toBe(0n);
      seen.add(tag);
    }
    const id = randomUUID();
    for (let at = 0; at < id.length; at++)
      for (const c of '0123456789abcdef-')
        if (id[at] !== c) seen.add(runTag(id.slice(0, at) + c + id.slice(at + 1)));
    seen.add(runTag(id));
    seen.add(runTag(id + id));
    seen.add(runTag(''));
    expect(seen.size).toBe(200_000 + 36 * 16 + 3);
    expect(runTag(id)).toBe(runTag(String(id)));
    expect(BigInt.asIntN(64, runTag(id))).toBe(runTag(id));
  });
});
