import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Checkpoint } from './checkpoint-store.js';
import { COMPACT_AFTER_EPOCHS, SqliteCheckpointStore } from './sqlite-checkpoint-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function store(): Promise<SqliteCheckpointStore> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warmflow-checkpoints-'));
  dirs.push(dir);
  return SqliteCheckpointStore.open(path.join(dir, 'warmflow.db'));
}

const checkpoint = (epoch: number): Checkpoint => ({
  epoch,
  positions: [epoch],
  next: [epoch + 1],
  nodes: {},
  chunk_bytes: [0],
  sinks: { files: {} },
  at: epoch,
});

describe('SqliteCheckpointStore', () => {
  it('restores the state as of the last epoch, across the folding of many epochs into one', async () => {
    const checkpoints = await store();
    await checkpoints.begin('run', {});
    // Each epoch counts one key up, sets a key of its own, and deletes the one before it.
    const expected = new Map<string, unknown>();
    const epochs = 3 * COMPACT_AFTER_EPOCHS + 5;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const changes: Array<[string, unknown] | [string]> = [
        ['count', epoch + 1],
        [`k${epoch}`, { epoch }],
      ];
      expected.set('count', epoch + 1);
      expected.set(`k${epoch}`, { epoch });
      if (epoch > 0 && epoch % 2 === 1) {
        changes.push([`k${epoch - 1}`]);
        expected.delete(`k${epoch - 1}`);
      }
      await checkpoints.save('run', 0, checkpoint(epoch), {
        count: changes as Array<[string, unknown]>,
      });
      // Another part of the run keeps its own rows.
      if (epoch < 3) await checkpoints.save('run', 1, checkpoint(epoch), { other: [['x', epoch]] });
      expect(checkpoints.changeRows('run', 0)).toBeLessThanOrEqual(COMPACT_AFTER_EPOCHS + 1);
      if (epoch % 50 === 0 || epoch === epochs - 1) {
        const latest = await checkpoints.latest('run', 0);
        expect(latest?.checkpoint.epoch).toBe(epoch);
        expect(new Map(latest!.state.count)).toEqual(expected);
      }
    }
    expect((await checkpoints.latest('run', 1))?.state).toEqual({ other: [['x', 2]] });
    await checkpoints.finish('run');
    expect(await checkpoints.latest('run', 0)).toBeNull();
    expect(checkpoints.changeRows('run', 0)).toBe(0);
    await checkpoints.close();
  });
});
