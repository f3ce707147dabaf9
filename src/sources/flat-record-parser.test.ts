import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlatRecordParser, LINES_PER_COMPILE, MAX_SHAPES } from './flat-record-parser.js';
import { parseLines } from './jsonl-chunks.js';
import { JsonlParser, scanJsonl } from './jsonl-parser.js';
import type { SourceItem } from './source.js';
import { MAX_RECORD_DEPTH, jsonDepth, tooDeepMessage } from './json-depth.js';

/** Equal as JSON.parse would give it: same values (SameValue: -0 is not 0), same key order. */
function sameRecord(a: unknown, b: unknown): boolean {
  if (!isDeepStrictEqual(a, b)) return false;
  if (a === null || typeof a !== 'object') return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return (
    ka.join('\u0000') === kb.join('\u0000') &&
    ka.every((k) =>
      sameRecord((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/** What parseLines must give: each line's bytes decoded alone and JSON.parse'd, with its byte offset. */
function reference(bytes: Buffer) {
  const records: unknown[] = [];
  const positions: number[] = [];
  const bad: Array<{ offset: number; text: string; error: string }> = [];
  for (let offset = 0; offset < bytes.length;) {
    let nl = bytes.indexOf(10, offset);
    if (nl < 0) nl = bytes.length;
    const raw = bytes.toString('utf8', offset, nl);
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line !== '')
      try {
        if (
          line.length > 2 * MAX_RECORD_DEPTH &&
          jsonDepth(line, MAX_RECORD_DEPTH) > MAX_RECORD_DEPTH
        )
          throw new Error(tooDeepMessage(MAX_RECORD_DEPTH));
        records.push(JSON.parse(line));
        positions.push(offset);
      } catch (error) {
        if (line.trim() !== '')
          bad.push({ offset, text: line.slice(0, 4096), error: (error as Error).message });
      }
    offset = nl + 1;
  }
  return { records, positions, bad };
}

// Keys an object literal or the shape cache could get wrong, beside ordinary ones.
const key = fc.oneof(
  fc.constantFrom('user', 'kind', 'amount', 'ts', 'a', 'b', '__proto__', '0', '12', 'constructor'),
  fc.constantFrom('}); throw 1; ({', '${x}', "a'b", 'a"b', 'a\\b', 'ü', 'a b', ''),
  fc.string({ maxLength: 5 }),
);
// Value texts: what JSON.stringify writes, and hand-written numbers and tokens, valid or not.
const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 24 });
const numberText = fc
  .tuple(
    fc.constantFrom('', '-'),
    digits,
    fc.option(digits),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits)),
  )
  .map(
    ([sign, int, frac, exp]) =>
      `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`,
  );
const valueText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s)) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => JSON.stringify(s)),
  },
  { weight: 3, arbitrary: fc.double().map((d) => JSON.stringify(d)) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.maxSafeInteger().map(String) },
  { weight: 3, arbitrary: numberText },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'true',
      'false',
      'null',
      '-0',
      '-0.0',
      '0.1',
      '1.5',
      '-',
      '1.',
      '.5',
      '01',
      '-01',
      'tru',
      'nul',
      'True',
      '"\\u0041"',
      '"a\\"b"',
      '"tab\there"',
      '"unterminated',
      '{"x":1}',
      '[1,2]',
      '{}',
      '[]',
      '9007199254740993',
      '9007199254740992',
      '9007199254740991',
      '1e400',
    ),
  },
);
const blank = fc.constantFrom('', '', '', ' ', '  ', '\t');
const flatLine = fc
  .tuple(fc.array(fc.tuple(key, blank, valueText, blank), { maxLength: 6 }), blank, blank)
  .map(
    ([pairs, open, close]) =>
      `{${open}${pairs.map(([k, b1, v, b2]) => `${JSON.stringify(k)}${b1}:${b2}${v}`).join(`,${open}`)}${close}}`,
  );
// Lines the fast path takes: one shape, printable ASCII strings, short numbers, literals.
const plain = fc.oneof(
  fc
    .string({ unit: fc.constantFrom(...' !#$%&()*+,-./09:;<=>?@AZ[]^_`az{|}~'), maxLength: 8 })
    .map((v) => JSON.stringify(v)),
  // 13 characters and more: cut from the record's own text, not the piece's.
  fc
    .string({ unit: fc.constantFrom(...'0123456789abcdef-:/.'), minLength: 13, maxLength: 40 })
    .map((v) => JSON.stringify(v)),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.integer({ min: -99999, max: 99999 }).map((c) => (c / 100).toString()),
  fc.constantFrom('true', 'false', 'null', '0', '-0', '0.5'),
  // Escapes the fast path must leave to JSON.parse, in lines of the same shape.
  fc.constantFrom('"a\\nb"', '"\\u0041"', '"a\\\\"', '"\\/"', '"a\\"b"'),
);
const plainLine = fc
  .tuple(plain, plain, plain)
  .map(([a, b, c]) => `{"user":${a},"kind":${b},"amount":${c}}`);
// One layout with a nested object and an array of primitives (or not an array at all).
const nestedLine = fc
  .tuple(plain, plain, fc.array(plain, { maxLength: 4 }), fc.constantFrom('', ' '), fc.boolean())
  .map(
    ([a, b, items, sp, isArray]) =>
      `{"id":${a},"geo":{"c":${b},"l":[${sp}${items.join(`,${sp}`)}${sp}]},"tags":${isArray ? `[${items.join(',')}]` : a}}`,
  );
// A line of a known layout with one byte changed or dropped: the compiled parser must refuse
// whatever JSON.parse refuses.
const corrupted = fc
  .tuple(fc.oneof(plainLine, nestedLine), fc.nat(), fc.constantFrom(...'[]{},:" 0a-.e\\', ''))
  .map(([l, k, c]) => {
    const at = k % l.length;
    return l.slice(0, at) + c + l.slice(at + 1);
  });
const line = fc.oneof(
  { weight: 16, arbitrary: plainLine },
  { weight: 8, arbitrary: nestedLine },
  { weight: 6, arbitrary: corrupted },
  { weight: 8, arbitrary: flatLine },
  { weight: 1, arbitrary: flatLine.map((l) => `${l}\r`) },
  { weight: 1, arbitrary: flatLine.map((l) => `${l} `) },
  { weight: 1, arbitrary: flatLine.map((l) => l.slice(0, Math.max(0, l.length - 2))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '  ', '{broken', '[1]', '{"a":1}{"b":2}', '{"a":1},{"b":2}'),
  },
  { weight: 1, arbitrary: fc.json() },
);

describe('FlatRecordParser', () => {
  it('parses the lines of a file exactly as JSON.parse of each line does (any keys, values, blanks, piece size)', () => {
    let taken = 0;
    let records = 0;
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 3, maxLength: 40 }),
        fc.integer({ min: 8, max: 2048 }),
        fc.boolean(),
        (lines, pieceBytes, lastNewline) => {
          const text = lines.join('\n') + (lastNewline ? '\n' : '');
          const bytes = Buffer.from(text);
          const parser = new FlatRecordParser();
          const got = parseLines(bytes, 0, bytes.length, 0, pieceBytes, parser);
          taken += parser.taken;
          records += got.records.length;
          const expected = reference(bytes);
          expect(got.positions).toEqual(expected.positions);
          expect(got.bad).toEqual(expected.bad);
          expect(got.records.length).toBe(expected.records.length);
          got.records.forEach((r, i) => {
            if (!sameRecord(r, expected.records[i]))
              throw new Error(
                `record ${i}: ${JSON.stringify(r)} is not ${JSON.stringify(expected.records[i])}`,
              );
          });
        },
      ),
      { numRuns: 400 },
    );
    // The fast path itself was checked, not only JSON.parse behind it.
    expect(taken).toBeGreaterThan(records / 10);
  });

  it('JsonlParser and scanJsonl give what JSON.parse a line gives, however the input is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (lines, cuts, lastNewline) => {
          const bytes = Buffer.from(lines.join('\n') + (lastNewline ? '\n' : ''));
          const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const read = (parser: JsonlParser): SourceItem[] => {
            const out: SourceItem[] = [];
            let from = 0;
            for (const to of [...at, bytes.length]) {
              if (to > from) parser.push(bytes.subarray(from, to), out);
              from = Math.max(from, to);
            }
            parser.end(out);
            return out;
          };
          // With keepText the parser takes every line through JSON.parse: the oracle.
          const expected = read(new JsonlParser(undefined, true));
          const got = read(new JsonlParser());
          expect(got.map((i) => [i.line, i.bytes, i.error])).toEqual(
            expected.map((i) => [i.line, i.bytes, i.error]),
          );
          got.forEach((item, k) => expect(sameRecord(item.record, expected[k].record)).toBe(true));
          const scanned: Array<[unknown, number]> = [];
          const errors: Array<[number, string]> = [];
          scanJsonl(
            bytes,
            (r, n) => scanned.push([r, n]),
            (l, e) => errors.push([l, e]),
          );
          // scanJsonl's own terms: every non-empty line through JSON.parse, as read whole.
          const lineTexts = bytes.toString('utf8').split('\n');
          const reference: Array<[unknown, number]> = [];
          const referenceErrors: Array<[number, string]> = [];
          lineTexts.forEach((t, k) => {
            if (t === '') return;
            try {
              reference.push([JSON.parse(t), Buffer.byteLength(t) + 1]);
            } catch (error) {
              referenceErrors.push([k + 1, (error as Error).message]);
            }
          });
          expect(scanned.map(([, n]) => n)).toEqual(reference.map(([, n]) => n));
          scanned.forEach(([r], k) => expect(sameRecord(r, reference[k][0])).toBe(true));
          expect(errors).toEqual(referenceErrors);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes string values of any bytes, invalid UTF-8 included, as the line decoded whole does', () => {
    // Bytes a string may hold unescaped: not a quote, backslash, newline or control byte.
    const raw = fc
      .uint8Array({ maxLength: 12 })
      .map((b) => Buffer.from(b.filter((x) => x >= 0x20 && x !== 0x22 && x !== 0x5c)));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(raw, fc.integer({ min: -999, max: 999 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (rows) => {
          const bytes = Buffer.concat(
            rows.map(([s, n]) =>
              Buffer.concat([Buffer.from('{"s":"'), s, Buffer.from(`","n":${n}}\n`)]),
            ),
          );
          const parser = new FlatRecordParser();
          const got = parseLines(bytes, 0, bytes.length, 0, 256, parser);
          const expected = reference(bytes);
          expect(got.positions).toEqual(expected.positions);
          expect(got.bad).toEqual(expected.bad);
          got.records.forEach((r, i) => expect(sameRecord(r, expected.records[i])).toBe(true));
          expect(parser.taken).toBe(rows.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("every one-byte change or deletion of a known layout's line parses as JSON.parse says", () => {
    const valid = [
      '{"id":"u1","geo":{"c":"DE","l":[1.5, -2, "x", null]},"tags":["a","bb"],"ok":true,"n":-0.25}',
      '{"user":"u12345","kind":"buy","amount":12.34,"ts":1700000000010}',
    ];
    const lines: string[] = [];
    for (const v of valid)
      for (let at = 0; at < v.length; at++)
        for (const c of [...'[]{},:" 0a-.e\\tfn', ''])
          lines.push(v, v.slice(0, at) + c + v.slice(at + 1));
    const bytes = Buffer.from(lines.join('\n') + '\n');
    const parser = new FlatRecordParser();
    const got = parseLines(bytes, 0, bytes.length, 0, 16 * 1024, parser);
    const expected = reference(bytes);
    expect(got.positions).toEqual(expected.positions);
    expect(got.bad).toEqual(expected.bad);
    got.records.forEach((r, i) => {
      if (!sameRecord(r, expected.records[i]))
        throw new Error(`${JSON.stringify(r)} is not ${JSON.stringify(expected.records[i])}`);
    });
    expect(parser.taken).toBeGreaterThan(lines.length / 4);
  });

  it('takes the flat records JSON.stringify writes, compact or spaced, without JSON.parse', () => {
    const parser = new FlatRecordParser();
    const lines = [
      '{"user":"u1","kind":"buy","amount":12.34,"ts":1700000000010}',
      '{"user":"u22","kind":"view","amount":-0.5,"ts":1700000000020}',
      '{"user": "u3", "kind": null, "amount": 0, "ts": true}',
      '{}',
      '{"}); throw 1; ({":1,"constructor":"x","a b":false}',
      '{"name":"Sant Julià de Lòria","emoji":"😀","lat":"42.46372"}',
      '{"id":"0123456789abcdefXYZ","n":1,"s":"short","url":"https://example.com/a/b"}',
      '{"geo":{"country":"US","lat":-12.5},"tags":["a", 1, null, true],"empty":[],"meta":{},"n":1}',
      '{ "user" : "u1" , "geo" : { "c" : [ 1 , 2 ] } }',
      '{"big":9007199254740993,"e":1e5,"f":0.30000000000000004,"g":-2.5E-3,"h":-0e0,"lat":-12.345678901234567}',
    ];
    for (const l of lines) {
      const bytes = Buffer.from(`${l}\n`);
      const record = parser.parse(bytes, bytes.toString('latin1'), 0, bytes.length);
      expect(record, l).toBeDefined();
      expect(sameRecord(record, JSON.parse(l)), l).toBe(true);
      expect(parser.end).toBe(Buffer.byteLength(l));
    }
    expect(parser.shapes).toBe(9);
  });

  it('gives up on what it cannot prove: escapes, arrays of arrays or objects, deep nesting, __proto__, index and repeated keys, bad numbers', () => {
    const parser = new FlatRecordParser();
    for (const l of [
      '{"a":"x\\"y"}',
      '{"a":"x\\ny"}',
      '{"a":[[1]]}',
      '{"a":{"b":1,"b":2}}',
      '{"a":[{"b":1}]}',
      '{"a":{"__proto__":1}}',
      '{"a":[1,]}',
      '{"a":[,1]}',
      '{"a":[1 2]}',
      `${'{"a":'.repeat(18)}1${'}'.repeat(18)}`,
      '{"__proto__":1}',
      '{"0":1}',
      '{"a":1,"a":2}',
      '{"a":01}',
      '{"a":1e}',
      '{"a":1.e5}',
      '{"a":-}',
      '{"a":+1}',
      '{"a":.5}',
    ]) {
      const bytes = Buffer.from(l);
      expect(parser.parse(bytes, bytes.toString('latin1'), 0, bytes.length), l).toBeUndefined();
    }
  });

  it(`compiles at most ${MAX_SHAPES} shapes at once, one more per ${LINES_PER_COMPILE} lines, and parses every line still`, () => {
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ [`k${i}`]: i, v: 'x' }));
    const text = lines.join('\n') + '\n';
    const bytes = Buffer.from(text);
    const parser = new FlatRecordParser();
    const got = parseLines(bytes, 0, bytes.length, 0, 16 * 1024, parser);
    expect(parser.shapes).toBe(MAX_SHAPES);
    expect(parser.taken).toBe(MAX_SHAPES);
    expect(got.records).toEqual(lines.map((l) => JSON.parse(l)));
    expect(got.positions).toEqual(reference(bytes).positions);
    // Lines of a shape it knows earn compiles back: a new file's shape is compiled again.
    const known = Buffer.from(`${lines[0]}\n`.repeat(LINES_PER_COMPILE));
    parseLines(known, 0, known.length, 0, 16 * 1024, parser);
    const next = Buffer.from('{"fresh":1}\n{"fresh":2}\n');
    const before = parser.taken;
    expect(parseLines(next, 0, next.length, 0, 16 * 1024, parser).records).toEqual([
      { fresh: 1 },
      { fresh: 2 },
    ]);
    expect(parser.taken - before).toBe(2);
  });

  it('pauses scanning for shapes in nested data, and takes flat records again after it', () => {
    const nested = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ id: i, geo: { lat: i } }),
    );
    const flatLines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ id: i, kind: 'buy' }),
    );
    const bytes = Buffer.from([...nested, ...flatLines].join('\n') + '\n');
    const parser = new FlatRecordParser();
    const got = parseLines(bytes, 0, bytes.length, 0, 16 * 1024, parser);
    expect(got.records).toEqual([...nested, ...flatLines].map((l) => JSON.parse(l)));
    expect(parser.taken).toBeGreaterThan(1000);
    // A long nested file before a flat one (a thread's warm-up, then a run) delays the flat
    // one's shape by at most one pause: pauses are counted in lines, not in pieces.
    const moreFlat = Array.from({ length: 10_000 }, (_, i) =>
      JSON.stringify({ id: i, kind: 'buy' }),
    );
    const longer = Buffer.from(
      [...Array.from({ length: 100_000 }, (_, i) => nested[i % 1000]), ...moreFlat].join('\n') +
        '\n',
    );
    const fresh = new FlatRecordParser();
    parseLines(longer, 0, longer.length, 0, 16 * 1024, fresh);
    expect(fresh.taken).toBeGreaterThanOrEqual(10_000 - 4096 - 8);
  });

  it('a long string value kept alive keeps its own record text alive, not the 16 KiB piece it came in', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const parser = new FlatRecordParser();
    const kept: unknown[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) {
      const text =
        Array.from(
          { length: 180 },
          (_, j) => `{"id":"${String(i * 1000 + j).padStart(20, '0')}","pad":"${'x'.repeat(40)}"}`,
        ).join('\n') + '\n';
      const bytes = Buffer.from(text);
      const got = parseLines(bytes, 0, bytes.length, 0, 16 * 1024, parser);
      kept.push((got.records[0] as { id: string }).id);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(parser.taken).toBe(180_000);
    expect(kept[999]).toBe(String(999_000).padStart(20, '0'));
    // Retained pieces would be 1,000 × ~13 KiB; the records' own texts are ~80 bytes each.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });
});
