import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
/**
 * 1 million in the regular suite, which must stay under a minute on a busy 2-core machine;
 * WARMFLOW_MEMORY_RECORDS=3000000 runs the 3 million (about 40 s here, passing).
 */
const RECORDS = Number(process.env.WARMFLOW_MEMORY_RECORDS ?? 1_000_000);

async function profileInChild(
  records: number,
): Promise<{ records: number; peak_heap_mb: number; id_distinct: number }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--expose-gc', '--max-old-space-size=150', child, String(records)],
    {
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as {
    records: number;
    peak_heap_mb: number;
    id_distinct: number;
  };
}

describe('profiler memory', () => {
  it(
    `keeps the heap under 150 MB over ${RECORDS.toLocaleString('en-US')} records of unbounded cardinality`,
    { timeout: 120_000 },
    async () => {
      const small = await profileInChild(RECORDS / 10);
      const large = await profileInChild(RECORDS);
      expect(large.records).toBe(RECORDS);
      expect(large.peak_heap_mb).toBeLessThan(150);
      // Bounded, not merely small: ten times the records, (nearly) the same heap.
      expect(large.peak_heap_mb).toBeLessThan(small.peak_heap_mb + 20);
      // Every id is distinct: the sketch still counts them within its bound.
      expect(Math.abs(large.id_distinct / RECORDS - 1)).toBeLessThan(0.02);
    },
  );
});
