import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSource } from '../sources/open.js';
import { feedSource, type PushBatch } from './push-feeder.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-feeder-'));

async function feed(input: Parameters<typeof feedSource>[0]['input']): Promise<PushBatch[]> {
  const batches: PushBatch[] = [];
  const stats = await feedSource({
    source: 'clicks',
    input,
    batchSize: 2,
    send: async (batch) => {
      batches.push(batch);
    },
  });
  expect(stats).toMatchObject({ records_in: 4, records_out: 3, batches: 2 });
  expect(stats.malformed).toEqual([{ line: 3, error: expect.any(String) }]);
  return batches;
}

describe('feedSource', () => {
  // Spacing and key order a re-serialisation would not keep: the payload shows which was sent.
  const lines = ['{"b": 1, "a": "x"}', '{ "id": 2 }', '{"broken": ', '[1,  2]'];
  const file = path.join(dir, 'clicks.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');

  it('sends JSON Lines records as the text they were read as, with their line numbers', async () => {
    const batches = await feed(file);
    expect(batches.map((b) => b.payload.toString('utf8'))).toEqual([
      '{"records":[{"b": 1, "a": "x"},{ "id": 2 }],"positions":[1,2]}',
      '{"records":[[1,  2]],"positions":[4]}',
    ]);
    expect(batches.map((b) => [b.seq, b.records])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    const sent = batches.flatMap(
      (b) => (JSON.parse(b.payload.toString()) as { records: unknown[] }).records,
    );
    expect(sent).toEqual([{ b: 1, a: 'x' }, { id: 2 }, [1, 2]]);
  });

  it('serialises the records of a source opened without their text', async () => {
    const batches = await feed(await openSource(file));
    expect(batches[0].payload.toString('utf8')).toBe(
      '{"records":[{"b":1,"a":"x"},{"id":2}],"positions":[1,2]}',
    );
  });
});
