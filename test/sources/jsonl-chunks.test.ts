import { writeFileSync, mkdtempSync } from 'node:fs';
import { closeSync, fstatSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterLines,
  chunkBytesFor,
  chunkCount,
  parseLines,
  readChunk,
  readChunkText,
} from '../../src/sources/jsonl-chunks.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-chunks-'));

/** Reads every chunk of a file and returns what they parsed, in chunk order. */
function readAll(file: string, chunkBytes: number) {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const records: unknown[] = [];
  const positions: number[] = [];
  const bad: number[] = [];
  for (let i = 0; i < chunkCount(size, chunkBytes); i++) {
    const chunk = readChunk(fd, size, i, chunkBytes);
    records.push(...chunk.records);
    positions.push(...chunk.positions);
    bad.push(...chunk.bad.map((b) => b.offset));
  }
  closeSync(fd);
  return { records, positions, bad };
}

describe('readChunk', () => {
  it('chunks cover every line exactly once, in order, with exact byte offsets (any chunk size, any text)', async () => {
    const line = fc.oneof(
      fc
        .record({ s: fc.string({ unit: 'grapheme', maxLength: 40 }), n: fc.integer() })
        .map((r) => JSON.stringify(r)),
      fc.constantFrom('{broken', '', '   '),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 60 }),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        async (lines, chunkBytes, crlf) => {
          const file = path.join(dir, 'lines.jsonl');
          const text = lines.join(crlf ? '\r\n' : '\n');
          writeFileSync(file, text);
          const got = readAll(file, chunkBytes);
          const expected: unknown[] = [];
          const offsets: number[] = [];
          const bad: number[] = [];
          let at = 0;
          for (const l of lines) {
            if (l === '{broken') bad.push(at);
            else if (l.trim() !== '') {
              expected.push(JSON.parse(l));
              offsets.push(at);
            }
            at += Buffer.byteLength(l) + (crlf ? 2 : 1);
          }
          expect(got.records).toEqual(expected);
          expect(got.positions).toEqual(offsets);
          expect(got.bad).toEqual(bad);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a chunk parsed in two parts cut after its first lines (the rest copied out of the read buffer) is the chunk parsed at once', async () => {
    const line = fc.oneof(
      fc
        .record({ s: fc.string({ unit: 'grapheme', maxLength: 30 }), n: fc.integer() })
        .map((r) => JSON.stringify(r)),
      fc.constantFrom('{broken', '', '\r'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 50 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 20 }),
        async (lines, chunkBytes, first) => {
          const file = path.join(dir, 'split.jsonl');
          writeFileSync(file, lines.join('\n'));
          const fd = openSync(file, 'r');
          const size = fstatSync(fd).size;
          try {
            for (let i = 0; i < chunkCount(size, chunkBytes); i++) {
              const whole = readChunk(fd, size, i, chunkBytes);
              const text = readChunkText(fd, size, i, chunkBytes);
              if (text === null) {
                expect(whole.records).toEqual([]);
                expect(whole.bad).toEqual([]);
                continue;
              }
              const { buffer, start, end, from } = text;
              const cut = afterLines(buffer, start, end, first);
              expect(cut).toBeGreaterThanOrEqual(start);
              expect(cut).toBeLessThanOrEqual(end);
              const rest = Buffer.from(buffer.subarray(cut, end));
              const head = parseLines(buffer, start, cut, from);
              // The read buffer is reused by the next read: the rest must not depend on it.
              buffer.fill(0x7b, 0, Math.min(buffer.length, end));
              const tail = parseLines(rest, 0, rest.length, from + cut);
              expect([...head.records, ...tail.records]).toEqual(whole.records);
              expect([...head.positions, ...tail.positions]).toEqual(whole.positions);
              expect([...head.bad, ...tail.bad]).toEqual(whole.bad);
              // Cut before the chunk's end, the head is `first` lines (blank ones count as lines).
              if (cut < end)
                expect(head.records.length + head.bad.length).toBeLessThanOrEqual(first);
            }
          } finally {
            closeSync(fd);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('decoding in small pieces parses exactly what decoding the whole buffer does (long lines, UTF-8, CRLF)', () => {
    const line = fc.oneof(
      fc
        .record({ s: fc.string({ unit: 'grapheme', maxLength: 80 }), n: fc.integer() })
        .map((r) => JSON.stringify(r)),
      fc.constantFrom('{broken', '', '\r'),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 1000 }),
        (lines, pieceBytes, fileOffset) => {
          const buffer = Buffer.from(lines.join('\n'));
          const whole = parseLines(buffer, 0, buffer.length, fileOffset, Number.MAX_SAFE_INTEGER);
          const pieces = parseLines(buffer, 0, buffer.length, fileOffset, pieceBytes);
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses a piece at once only when that means what parsing each line means (fragments that join into valid JSON stay bad lines)', () => {
    // Lines that are not JSON alone but join into valid JSON across a newline made a comma.
    const fragment = fc.constantFrom(
      '{"a":[1',
      '2]}',
      '3,4',
      '[1',
      '2]',
      '"x',
      'y"',
      '{"s":"}"}',
      '{"s":"\\"}',
      '{"a":1},{"b":2}',
      '{"a":[{}',
      '{}]},{"x":1}',
      '{"n":{"m":[1,{}]}, "o": 2}',
      '{}',
      '[]',
      '1',
      '"\\u00e9\\n"',
      '{"s":"\\',
      '{"k":"é"}',
      ' {"sp":true} ',
      '',
      '   ',
      '\r',
      ']',
      '}{',
    );
    const reference = (buffer: Buffer, fileOffset: number) => {
      const records: unknown[] = [];
      const positions: number[] = [];
      const bad: Array<{ offset: number; text: string; error: string }> = [];
      let at = 0;
      for (const raw of buffer.toString('utf8').split('\n')) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line !== '')
          try {
            records.push(JSON.parse(line));
            positions.push(fileOffset + at);
          } catch (error) {
            if (line.trim() !== '')
              bad.push({ offset: fileOffset + at, text: line, error: (error as Error).message });
          }
        at += Buffer.byteLength(raw) + 1;
      }
      return { records, positions, bad };
    };
    // Joined, these parse to as many objects as there are lines; alone, none is JSON.
    for (const lines of [
      ['{"a":[{}', '{}]},{"x":1}'],
      ['{"s":"', '"}'],
    ]) {
      const buffer = Buffer.from(lines.join('\n') + '\n');
      const chunk = parseLines(buffer, 0, buffer.length, 0);
      expect(chunk.records).toEqual([]);
      expect(chunk.bad.map((b) => b.text)).toEqual(lines);
    }
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 30 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 1000 }),
        (lines, trailingNewline, pieceBytes, fileOffset) => {
          const buffer = Buffer.from(lines.join('\n') + (trailingNewline ? '\n' : ''));
          const chunk = parseLines(buffer, 0, buffer.length, fileOffset, pieceBytes);
          const { bytes, ...parsed } = chunk;
          expect(bytes).toBe(buffer.length);
          expect(parsed).toEqual(reference(buffer, fileOffset));
          // The buffer is handed back as it came.
          expect(buffer.toString('utf8')).toBe(lines.join('\n') + (trailingNewline ? '\n' : ''));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('sizes chunks for parallel reading: small files get several chunks per thread, large ones 256 KiB', () => {
    expect(chunkBytesFor(100_000_000, 2)).toBe(256 * 1024);
    expect(chunkCount(1_000_000, chunkBytesFor(1_000_000, 2))).toBeGreaterThanOrEqual(16);
    expect(chunkBytesFor(1000, 2)).toBe(16 * 1024);
  });
});
