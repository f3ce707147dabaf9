import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkerLog } from '../dataplane-contract.js';
import type { RunStores } from './run-stores.js';
import type { ThreadPool } from './thread-pool.js';
import { WarmUp } from './warm-up.js';

/** A log that keeps its lines. */
function keptLog(): WorkerLog & { lines: Array<{ message: string; fields: object }> } {
  const lines: Array<{ message: string; fields: object }> = [];
  const keep = (fields: object, message = '') => lines.push({ message, fields });
  return { lines, info: keep, warn: keep, error: keep };
}

describe('WarmUp while it writes its input', () => {
  it('a stop that comes while it writes its input (the event loop turns between slices) ends it before any run, and removes the input', async () => {
    // No thread may be used: a warm-up stopped while it writes its input makes no run.
    const pool = new Proxy({} as ThreadPool, {
      get: (_target, property) => {
        throw new Error(`the thread pool was used (${String(property)})`);
      },
    });
    const log = keptLog();
    const resourceId = `warm-up-test-${process.pid}-${Date.now()}`;
    const warmUp = new WarmUp({ pool, stores: {} as RunStores, log, resourceId });
    const done = warmUp.start();
    // The first slice is written and the warm-up waits for the event loop's next turn: a
    // request's `df.run` is read there, and stops it.
    const input = path.join(os.tmpdir(), `warmflow-warm-up-${resourceId}.jsonl`);
    expect(existsSync(input)).toBe(true);
    await warmUp.stop();
    await done;
    expect(existsSync(input)).toBe(false);
    expect(log.lines).toEqual([
      { message: 'warm-up stopped for a run', fields: { phase: 'input' } },
    ]);
  });
});
