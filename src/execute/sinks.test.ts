import { describe, expect, it } from 'vitest';
import {
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEAD_LETTER_TYPE } from '../worker/worker-contract.js';
import { SinkFiles } from './sinks.js';

const scratch = () => mkdtempSync(path.join(os.tmpdir(), 'warmflow-sinks-'));

describe('SinkFiles', () => {
  it('keeps arrival order per file when small (direct) and large (queued) writes interleave', async () => {
    const dir = scratch();
    try {
      const sinks = new SinkFiles(path.join(dir, 'out'));
      sinks.prepare(['Item']);
      const big = Buffer.from('{"big":"' + 'x'.repeat(200_000) + '"}\n');
      const writes = [
        sinks.write('Item', 1, Buffer.from('{"n":1}\n')),
        sinks.write('Item', 1, big),
        // Queued behind the large one although small: order is the file's, not the size's.
        sinks.write('Item', 1, Buffer.from('{"n":2}\n')),
        sinks.write(DEAD_LETTER_TYPE, 1, Buffer.from('{"dead":true}\n')),
      ];
      await Promise.all(writes);
      await sinks.write('Item', 1, Buffer.from('{"n":3}\n'));
      await sinks.sync();
      await sinks.close();
      const lines = readFileSync(sinks.fileFor('Item'), 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => Object.keys(JSON.parse(l) as object)[0])).toEqual([
        'n',
        'big',
        'n',
        'n',
      ]);
      expect(lines[2]).toBe('{"n":2}');
      expect(sinks.counts.get('Item')).toBe(4);
      expect(sinks.deadLettered).toBe(1);
      expect(sinks.deadLetterFile).toBe(path.join(dir, 'out', 'dead-letters.jsonl'));
      expect(sinks.firstRecordAt).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the dead-letter file after a rollback that kept dead letters and no later ones', async () => {
    const dir = scratch();
    try {
      const sinks = new SinkFiles(path.join(dir, 'out'));
      await sinks.write(DEAD_LETTER_TYPE, 2, Buffer.from('{"dead":1}\n{"dead":2}\n'));
      await sinks.write('Item', 1, Buffer.from('{"n":1}\n'));
      await sinks.sync();
      const checkpoint = sinks.snapshot();
      await sinks.write('Item', 1, Buffer.from('{"n":2}\n'));
      // A resource died after the checkpoint: the run goes on from it, with no dead letter after.
      await sinks.rollback(checkpoint, ['Item']);
      await sinks.write('Item', 1, Buffer.from('{"n":2}\n'));
      await sinks.close();
      expect(sinks.deadLettered).toBe(2);
      expect(sinks.deadLetterFile).toBe(path.join(dir, 'out', 'dead-letters.jsonl'));
      expect(readFileSync(sinks.deadLetterFile!, 'utf8')).toBe('{"dead":1}\n{"dead":2}\n');
      // Rolled back to a checkpoint before any dead letter: none, and no file named.
      const none = new SinkFiles(path.join(dir, 'none'));
      await none.write('Item', 1, Buffer.from('{"n":1}\n'));
      const before = none.snapshot();
      await none.write(DEAD_LETTER_TYPE, 1, Buffer.from('{"dead":1}\n'));
      await none.rollback(before, ['Item']);
      await none.close();
      expect(none.deadLettered).toBe(0);
      expect(none.deadLetterFile).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes through a symbolic or hard link to last run's output, replacing its content", async () => {
    const dir = scratch();
    try {
      const target = path.join(dir, 'kept.jsonl');
      const linked = path.join(dir, 'linked.jsonl');
      writeFileSync(target, 'stale\nstale\n');
      writeFileSync(linked, 'stale\n');
      const out = new SinkFiles(dir);
      symlinkSync(target, out.fileFor('Sym'));
      linkSync(linked, out.fileFor('Hard'));
      out.prepare(['Sym', 'Hard']);
      await out.write('Sym', 1, Buffer.from('{"n":1}\n'));
      await out.write('Hard', 1, Buffer.from('{"n":2}\n'));
      await out.close();
      expect(readFileSync(target, 'utf8')).toBe('{"n":1}\n');
      expect(readFileSync(linked, 'utf8')).toBe('{"n":2}\n');
      expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('empties an existing file and says E_SINK when the folder cannot be made', async () => {
    const dir = scratch();
    try {
      const sinks = new SinkFiles(dir);
      writeFileSync(sinks.fileFor('Old'), 'stale\n');
      sinks.prepare(['Old']);
      await sinks.close();
      expect(readFileSync(sinks.fileFor('Old'), 'utf8')).toBe('');
      // Last run's file was moved aside while the run went on, and is gone once it is over.
      expect(readdirSync(dir)).toEqual(['Old.jsonl']);
      // A file where the output folder should be.
      const blocked = new SinkFiles(path.join(sinks.fileFor('Old'), 'sub'));
      expect(() => blocked.prepare(['Item'])).toThrow(/cannot open output file/);
      await expect(blocked.write('Item', 1, Buffer.from('{}\n'))).rejects.toMatchObject({
        code: 'E_SINK',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
