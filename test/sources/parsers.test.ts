import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { JsonlParser } from '../../src/sources/jsonl-parser.js';
import { CsvParser, decideColumnTypes, typeColumns } from '../../src/sources/csv-parser.js';
import { JsonArrayParser } from '../../src/sources/json-array-parser.js';
import { readSource } from '../../src/sources/open.js';
import type { ChunkParser, SourceItem } from '../../src/sources/source.js';
import { profile } from '../../src/profiler/profile.js';
import { WarmflowError } from '../../src/errors.js';

/** Feeds `text` to a parser in pieces cut at `cuts` (byte offsets), like a stream would. */
function parseInPieces(parser: ChunkParser, bytes: Buffer, cuts: number[]): SourceItem[] {
  const out: SourceItem[] = [];
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= from || cut >= bytes.length) continue;
    parser.push(bytes.subarray(from, cut), out);
    from = cut;
  }
  parser.push(bytes.subarray(from), out);
  parser.end(out);
  return out;
}

async function collect(path: string, options = {}): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of readSource(path, options)) items.push(item);
  return items;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });

describe('JSON Lines', () => {
  it('parses the same records however the input is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(jsonValue, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (values, cuts) => {
          const bytes = Buffer.from(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
          const items = parseInPieces(
            new JsonlParser(),
            bytes,
            cuts.map((c) => c % bytes.length),
          );
          expect(items.map((i) => i.record)).toEqual(JSON.parse(JSON.stringify(values)));
          expect(items.reduce((a, i) => a + i.bytes, 0)).toBe(bytes.length);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });

  it('reports malformed lines with their numbers, accepts CRLF, skips blank lines', () => {
    const items = parseInPieces(
      new JsonlParser(),
      Buffer.from('{"a":1}\r\n\n{oops\n  \n[1,2]\n{"b":'),
      [5, 13],
    );
    expect(
      items.map((i) => (i.error === undefined ? ['ok', i.line, i.record] : ['bad', i.line])),
    ).toEqual([
      ['ok', 1, { a: 1 }],
      ['bad', 3],
      ['ok', 5, [1, 2]],
      ['bad', 6],
    ]);
  });
});

describe('CSV', () => {
  it('types each column from all its values: numbers, booleans, empty → null; a column with one non-number stays strings', async () => {
    const rows = [
      {
        int: '42',
        float: '3.5',
        exp: '1e3',
        bool: 'true',
        zip: '00501',
        code: 'ABC',
        town: 'Paris',
        big: '9007199254740993',
      },
      {
        int: '-7',
        float: '.5',
        exp: '2',
        bool: 'FALSE',
        zip: '12345',
        code: '0E0',
        town: 'TRUE',
        big: '1',
      },
      { int: '', float: '1', exp: '', bool: '', zip: '', code: '0E8', town: '', big: '' },
    ];
    const items = rows.map((record, i) => ({ record, line: i + 2, bytes: 1 }));
    async function* once() {
      yield items;
    }
    const types = await decideColumnTypes(once(), undefined, Infinity);
    expect(Object.fromEntries(types)).toEqual({
      int: 'integer',
      float: 'float',
      exp: 'float',
      bool: 'boolean',
      zip: 'string',
      code: 'string',
      town: 'string',
      big: 'string',
    });
    expect(typeColumns(items, types).map((i) => i.record)).toEqual([
      {
        int: 42,
        float: 3.5,
        exp: 1000,
        bool: true,
        zip: '00501',
        code: 'ABC',
        town: 'Paris',
        big: '9007199254740993',
      },
      {
        int: -7,
        float: 0.5,
        exp: 2,
        bool: false,
        zip: '12345',
        code: '0E0',
        town: 'TRUE',
        big: '1',
      },
      { int: null, float: 1, exp: null, bool: null, zip: null, code: '0E8', town: null, big: null },
    ]);
  });

  it('honours declared field types, and reports a value that does not fit as a malformed line', async () => {
    const items = [
      { record: { id: '7', n: '1' }, line: 2, bytes: 1 },
      { record: { id: '8', n: 'x' }, line: 3, bytes: 1 },
    ];
    async function* once() {
      yield items;
    }
    const types = await decideColumnTypes(once(), { id: 'string', n: 'integer' }, Infinity);
    expect(typeColumns(items, types)).toEqual([
      { record: { id: '7', n: 1 }, line: 2, bytes: 1 },
      { error: 'field "n" is an integer column, got "x"', line: 3, bytes: 1 },
    ]);
  });

  it('reads quoted cells with delimiters, doubled quotes and newlines, in any chunking', () => {
    const text =
      'name,n,note\r\n"Smith, J",1,"said ""hi"""\nplain,2,"two\nlines"\n"x",,\nbad,1,2,3\n';
    const expected = [
      { record: { name: 'Smith, J', n: '1', note: 'said "hi"' }, line: 2 },
      { record: { name: 'plain', n: '2', note: 'two\nlines' }, line: 3 },
      { record: { name: 'x', n: '', note: '' }, line: 5 },
      { error: 'row has 4 cells, the header has 3', line: 6 },
    ];
    fc.assert(
      fc.property(fc.array(fc.nat({ max: text.length }), { maxLength: 8 }), (cuts) => {
        const items = parseInPieces(new CsvParser(), Buffer.from(text), cuts);
        expect(
          items.map(({ record, error, line }) => (error ? { error, line } : { record, line })),
        ).toEqual(expected);
      }),
      { numRuns: 100, seed: 6 },
    );
  });

  it('reports an unterminated quote at the end', () => {
    const items = parseInPieces(new CsvParser(), Buffer.from('a,b\n1,"open\n'), []);
    expect(items).toEqual([
      expect.objectContaining({ error: 'unterminated quoted cell', line: 2 }),
    ]);
  });
});

describe('JSON array', () => {
  it('yields each element however the input is cut, strings with brackets and escapes included', () => {
    fc.assert(
      fc.property(
        fc.array(jsonValue, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (values, cuts, pretty) => {
          const bytes = Buffer.from(JSON.stringify(values, null, pretty ? 2 : undefined));
          const items = parseInPieces(
            new JsonArrayParser(),
            bytes,
            cuts.map((c) => c % Math.max(1, bytes.length)),
          );
          expect(items.map((i) => i.record)).toEqual(JSON.parse(JSON.stringify(values)));
          expect(items.map((i) => i.line)).toEqual(values.map((_, i) => i + 1));
        },
      ),
      { numRuns: 150, seed: 8 },
    );
  });

  it('reports a malformed element by number and an unterminated array', () => {
    const items = parseInPieces(
      new JsonArrayParser(),
      Buffer.from('[{"a":1}, {"a":tru}, "x]"'),
      [3],
    );
    expect(items.map((i) => [i.line, i.error === undefined ? i.record : 'error'])).toEqual([
      [1, { a: 1 }],
      [2, 'error'],
      [3, 'x]'],
      [4, 'error'],
    ]);
    expect(items[3].error).toMatch(/unterminated/);
  });

  it('reads a .json file that is not an array as JSON Lines', () => {
    const items = parseInPieces(new JsonArrayParser(), Buffer.from('\n{"a":1}\n{"a":2}\n'), []);
    expect(items.map((i) => i.record)).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('openSource', () => {
  let dir: string;
  const records = Array.from({ length: 500 }, (_, i) => ({ i, s: `v${i % 7}` }));
  const jsonl = records.map((r) => JSON.stringify(r)).join('\n') + '\n';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'warmflow-sources-'));
    writeFileSync(join(dir, 'data.jsonl'), jsonl);
    writeFileSync(join(dir, 'data.jsonl.gz'), gzipSync(jsonl));
    writeFileSync(
      join(dir, 'data.csv'),
      'i,s\n' + records.map((r) => `${r.i},${r.s}`).join('\n') + '\n',
    );
    writeFileSync(join(dir, 'data.csv.gz'), gzipSync('i,s\n1,a\n'));
    writeFileSync(join(dir, 'data.json'), JSON.stringify(records, null, 1));
    writeFileSync(join(dir, 'data.tsv'), 'i\ts\n1\ta b\n');
    writeFileSync(join(dir, 'bom.csv'), '\ufeffi,s\n1,a\n');
    writeFileSync(join(dir, 'noext'), '[{"x":1}]');
    writeFileSync(join(dir, 'bad.gz'), 'this is not gzip');
    writeFileSync(join(dir, 'empty.jsonl'), '');
    writeFileSync(join(dir, 'garbage.jsonl'), 'nope\nstill nope\n');
    mkdirSync(join(dir, 'folder'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads JSONL, gzip by extension, CSV, TSV, JSON arrays and sniffs unknown extensions', async () => {
    for (const name of ['data.jsonl', 'data.jsonl.gz', 'data.csv', 'data.json']) {
      const items = await collect(join(dir, name));
      expect(
        items.map((i) => i.record),
        name,
      ).toEqual(records);
    }
    expect((await collect(join(dir, 'data.csv.gz'))).map((i) => i.record)).toEqual([
      { i: 1, s: 'a' },
    ]);
    expect((await collect(join(dir, 'data.tsv'))).map((i) => i.record)).toEqual([
      { i: 1, s: 'a b' },
    ]);
    expect((await collect(join(dir, 'noext'))).map((i) => i.record)).toEqual([{ x: 1 }]);
    expect((await collect(join(dir, 'bom.csv'))).map((i) => i.record)).toEqual([{ i: 1, s: 'a' }]);
  });

  it('reads standard input, gzip-compressed or not', async () => {
    const plain = await collect('-', {
      stdin: Readable.from([Buffer.from('{"a":1}\n{"a"'), Buffer.from(':2}\n')]),
    });
    expect(plain.map((i) => i.record)).toEqual([{ a: 1 }, { a: 2 }]);
    const gz = await collect('-', { stdin: Readable.from([gzipSync(jsonl)]) });
    expect(gz).toHaveLength(500);
  });

  it('samples the first N records, or a reproducible uniform reservoir of N', async () => {
    const first = await collect(join(dir, 'data.jsonl'), { sample: 10 });
    expect(first.map((i) => (i.record as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const a = await collect(join(dir, 'data.jsonl'), { reservoir: 50, seed: 9 });
    const b = await collect(join(dir, 'data.jsonl'), { reservoir: 50, seed: 9 });
    expect(a).toHaveLength(50);
    expect(a).toEqual(b);
    // Uniform over the whole input: the sample reaches into the second half.
    const mean = a.reduce((s, i) => s + (i.record as { i: number }).i, 0) / a.length;
    expect(mean).toBeGreaterThan(150);
    expect(mean).toBeLessThan(350);
  });

  it('fails with clear errors for missing, directory, corrupt gzip, empty and all-malformed sources', async () => {
    const code = async (p: Promise<unknown>) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WarmflowError);
      return (error as WarmflowError).code;
    };
    expect(await code(collect(join(dir, 'missing.jsonl')))).toBe('E_SOURCE_UNREADABLE');
    expect(await code(collect(join(dir, 'folder')))).toBe('E_SOURCE_UNREADABLE');
    expect(await code(collect(join(dir, 'bad.gz')))).toBe('E_SOURCE_READ');
    expect(await code(profile(join(dir, 'empty.jsonl')))).toBe('E_SOURCE_EMPTY');
    expect(await code(profile(join(dir, 'garbage.jsonl')))).toBe('E_SOURCE_NO_RECORDS');
  });

  it('profiles a path, an async iterable of items and records in memory alike', async () => {
    const fromPath = await profile(join(dir, 'data.jsonl'));
    async function* items() {
      for (const item of await collect(join(dir, 'data.jsonl'))) yield item;
    }
    const fromItems = await profile(items());
    const fromRecords = await profile(records);
    expect(fromItems).toEqual(fromPath);
    expect(fromRecords.fields).toEqual(fromPath.fields);
    // Records in memory have no raw line: their size is their JSON text, without the newline.
    expect(fromRecords.volume.bytes).toBe(fromPath.volume.bytes - records.length);
  });
});
