import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSource } from '../../src/sources/open.js';
import type { SourceItem, SourceOptions } from '../../src/sources/source.js';
import { runCli } from '../helpers/cli.js';
import { MAX_RECORD_DEPTH } from '../../src/sources/json-depth.js';
import { parseLines } from '../../src/sources/jsonl-chunks.js';

/** Feeds `text` as standard input in chunks of `chunk` bytes. */
function stdinOf(text: string | Buffer, chunk = 64 * 1024): Readable {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    })(),
  );
}

async function readAll(text: string | Buffer, options: SourceOptions): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of readSource('-', { stdin: stdinOf(text), ...options })) items.push(item);
  return items;
}

describe('sources: a maximum record length', () => {
  it('JSONL: a line spanning hundreds of chunks is read whole; one past the limit stops the read', async () => {
    const long = JSON.stringify({ s: 'x'.repeat(5_000_000) });
    const text = `{"a":1}\n${long}\n{"a":2}\n`;
    const items = await readAll(text, { format: 'jsonl', maxRecordBytes: 6_000_000 });
    expect(items.map((i) => i.line)).toEqual([1, 2, 3]);
    expect((items[1].record as { s: string }).s.length).toBe(5_000_000);
    await expect(
      readAll(text, { format: 'jsonl', maxRecordBytes: 1_000_000 }),
    ).rejects.toMatchObject({
      code: 'E_RECORD_TOO_LONG',
      message: expect.stringContaining('record 2'),
    });
    // A long line inside a single chunk is refused too.
    await expect(readAll(text, { format: 'jsonl', maxRecordBytes: 100 })).rejects.toMatchObject({
      code: 'E_RECORD_TOO_LONG',
    });
  });

  it('CSV: a long row and an unterminated quote stop at the limit', async () => {
    const row = `a,b\n1,${'y'.repeat(300_000)}\n2,3\n`;
    await expect(readAll(row, { format: 'csv', maxRecordBytes: 100_000 })).rejects.toMatchObject({
      code: 'E_RECORD_TOO_LONG',
    });
    const ok = await readAll(row, { format: 'csv', maxRecordBytes: 400_000 });
    expect(ok.map((i) => (i.record as { a: number }).a)).toEqual([1, 2]);
    const open = `a,b\n1,"${'z\n'.repeat(100_000)}`;
    await expect(readAll(open, { format: 'csv', maxRecordBytes: 50_000 })).rejects.toMatchObject({
      code: 'E_RECORD_TOO_LONG',
    });
  });

  it('JSON array: an element past the limit stops the read', async () => {
    const text = `[{"a":1}, {"s":"${'q'.repeat(200_000)}"}]`;
    await expect(readAll(text, { format: 'json', maxRecordBytes: 50_000 })).rejects.toMatchObject({
      code: 'E_RECORD_TOO_LONG',
    });
  });

  it('`warmflow profile /dev/zero` is refused as binary data at once (exit 2)', async () => {
    const res = await runCli('profile', '/dev/zero', '--max-record-bytes', '4000000');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('"/dev/zero" is binary data');
  });
});

describe('sources: records nested too deep are malformed records, never a crash', () => {
  const deepObject = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
  const deepArray = '['.repeat(100_000) + ']'.repeat(100_000);
  // Deep enough to be odd data, within the limit: read as a record.
  const fine = JSON.stringify(
    Array.from({ length: 200 }).reduce<unknown>((inner) => ({ a: inner }), 1),
  );
  // Brackets inside strings are text, not nesting.
  const bracketsInText = JSON.stringify({ s: '['.repeat(5_000) });

  it('JSONL (streamed and split into chunks) and JSON arrays', async () => {
    const lines = ['{"a":1}', deepObject, deepArray, fine, bracketsInText, '{"a":2}'];
    const jsonl = await readAll(lines.join('\n') + '\n', { format: 'jsonl' });
    expect(jsonl.map((i) => i.error === undefined)).toEqual([true, false, false, true, true, true]);
    expect(jsonl[1].error).toContain('max_record_depth');
    expect(jsonl[2].error).toContain(`${MAX_RECORD_DEPTH} levels`);

    const array = await readAll(`[${lines.join(',')}]`, { format: 'json' });
    expect(array.map((i) => i.error === undefined)).toEqual([true, false, false, true, true, true]);

    const buffer = Buffer.from(lines.join('\n') + '\n');
    const chunk = parseLines(buffer, 0, buffer.length, 0);
    expect(chunk.records).toHaveLength(4);
    expect(chunk.bad.map((b) => b.error)).toEqual([
      expect.stringContaining('max_record_depth'),
      expect.stringContaining('max_record_depth'),
    ]);
  });
});
