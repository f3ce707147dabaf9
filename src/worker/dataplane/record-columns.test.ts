import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compiledShapes,
  fromColumns,
  packItems,
  toColumns,
  unpackItems,
} from './record-columns.js';

/** Keys and insertion order as structured cloning keeps them, values compared with Object.is. */
function same(a: unknown[], b: unknown[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Record<string, unknown>;
    const y = b[i] as Record<string, unknown>;
    expect(Object.keys(x)).toEqual(Object.keys(y));
    expect(Object.getPrototypeOf(x)).toBe(Object.prototype);
    for (const key of Object.keys(x)) expect(Object.is(x[key], y[key])).toBe(true);
  }
}

const primitive = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY),
);
// Keys include integer-like ones, which objects order first whatever the insertion order.
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.nat(20).map(String), fc.constant('__proto__'));

describe('records as columns', () => {
  it('rebuild, after a structured clone, what cloning the records gives', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(primitive, { minLength: 6, maxLength: 6 }), {
          minLength: 1,
          maxLength: 40,
        }),
        (keys, rows) => {
          const recs = rows.map((row) => {
            const record: Record<string, unknown> = {};
            // `__proto__` as an own key, as JSON.parse makes it (an assignment would set the prototype).
            keys.forEach((k, j) =>
              Object.defineProperty(record, k, {
                value: row[j],
                enumerable: true,
                writable: true,
                configurable: true,
              }),
            );
            return record;
          });
          const columns = toColumns(recs);
          // An own `__proto__` stays a record of its own: rebuilding would set the prototype.
          if (keys.includes('__proto__')) {
            expect(columns).toBeNull();
            return;
          }
          expect(columns).not.toBeNull();
          same(fromColumns(structuredClone(columns!)), structuredClone(recs));
        },
      ),
    );
  });

  it('are not made of records that structured cloning would copy otherwise', () => {
    const nested = [{ a: 1 }, { a: { b: 2 } }];
    const arrays = [{ a: 1 }, { a: [1] }];
    const otherKeys = [
      { a: 1, b: 2 },
      { b: 2, a: 1 },
    ];
    const fewer = [{ a: 1, b: 2 }, { a: 1 }];
    const more = [{ a: 1 }, { a: 1, b: 2 }];
    const undef = [{ a: 1 }, { a: undefined }];
    const classed = [
      { a: 1 },
      new (class Thing {
        a = 1;
      })(),
    ];
    const nullProto = [{ a: 1 }, Object.assign(Object.create(null) as object, { a: 1 })];
    const dates = [{ a: 1 }, { a: new Date(0) }];
    const bigints = [{ a: 1 }, { a: 1n }];
    const notObjects = [1, 'a'];
    for (const recs of [
      nested,
      arrays,
      otherKeys,
      fewer,
      more,
      undef,
      classed,
      nullProto,
      dates,
      bigints,
      notObjects,
      [{}],
    ])
      expect(toColumns(recs)).toBeNull();
  });

  it('travel in items: packed where they fit, as they are elsewhere, rebuilt on arrival', () => {
    const flat = [
      { user: 'u1', cents: 100 },
      { user: 'u2', cents: -0 },
    ];
    const mixed = [{ user: 'u1' }, { user: 'u2', extra: [1] }];
    const packed = packItems([
      { node: 'count', recs: flat, pos: [1, 2] },
      { node: 'other', recs: mixed, pos: [3, 4] },
      { node: 'empty', recs: [], pos: [] },
    ]);
    expect(packed[0].recs).toEqual([]);
    expect(packed[0].columns?.keys).toEqual(['user', 'cents']);
    // A string column crosses as one text, a number column and the positions as Float64Arrays.
    expect(packed[0].columns?.cols[0]).toEqual({ text: 'u1u2', ends: Uint32Array.of(2, 4) });
    expect(packed[0].columns?.cols[1]).toEqual(Float64Array.of(100, -0));
    // A column of 32-bit integers crosses as an Int32Array (they come back as small integers).
    const ints = packItems([{ node: 'count', recs: [{ n: 1 }, { n: -(2 ** 31) }], pos: [0, 1] }]);
    expect(ints[0].columns?.cols[0]).toEqual(Int32Array.of(1, -(2 ** 31)));
    const wide = packItems([{ node: 'count', recs: [{ n: 1 }, { n: 2 ** 31 }], pos: [0, 1] }]);
    expect(wide[0].columns?.cols[0]).toEqual(Float64Array.of(1, 2 ** 31));
    expect(packed[0].positions).toEqual(Float64Array.of(1, 2));
    expect(packed[1].recs).toBe(mixed);
    expect(packed[1].columns).toBeUndefined();
    const arrived = unpackItems(structuredClone(packed));
    same(arrived[0].recs, flat);
    expect(arrived[0].pos).toEqual([1, 2]);
    expect(arrived[0].columns).toBeUndefined();
    expect(arrived[0].positions).toBeUndefined();
    expect(arrived[1].recs).toEqual(mixed);
    expect(arrived[1].pos).toEqual([3, 4]);
    expect(arrived[2].recs).toEqual([]);
    expect(arrived[2].pos).toEqual([]);
  });

  it('keep every string and number exactly, whatever a column holds', () => {
    // Columns of one type each (joined text, Float64Array) and of mixed types (as they are).
    const column = fc.oneof(
      fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, Number.NaN)), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.array(primitive, { minLength: 1, maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(column, { minLength: 1, maxLength: 4 }), (columns) => {
        const n = Math.min(...columns.map((c) => c.length));
        const recs = Array.from({ length: n }, (_, i) =>
          Object.fromEntries(columns.map((c, j) => [`f${j}`, c[i]])),
        );
        const pos = Array.from({ length: n }, (_, i) => i * 97 + 2 ** 40);
        const [arrived] = unpackItems(structuredClone(packItems([{ node: 'k', recs, pos }])));
        same(arrived.recs, recs);
        expect(arrived.pos).toEqual(pos);
      }),
    );
  });

  it('rebuild the same records once their shape is compiled, whatever the keys', () => {
    // A shape is compiled the second time a batch of it arrives: the first batch is built key
    // by key, the later ones by the compiled builder, and all must equal the clones.
    const anyKey = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.constantFrom('"', '\\', '\u2028', '}; throw 1; ({', 'constructor', 'toString'),
      fc.nat(20).map(String),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(anyKey, { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(primitive, { minLength: 5, maxLength: 5 }), {
          minLength: 1,
          maxLength: 20,
        }),
        (keys, rows) => {
          const recs = rows.map((row) => Object.fromEntries(keys.map((k, j) => [k, row[j]])));
          const columns = toColumns(recs);
          if (columns === null) return;
          const clones = structuredClone(recs);
          for (let round = 0; round < 3; round++)
            same(fromColumns(structuredClone(columns)), clones);
        },
      ),
    );
  });

  it('compile a bounded number of shapes, however many arrive', () => {
    const before = compiledShapes().compiled;
    for (let i = 0; i < 2_000; i++) {
      const columns = toColumns([{ [`k${i}`]: i, v: 'x' }])!;
      // Each shape twice: the second batch would compile it if the bounds let it.
      fromColumns(structuredClone(columns));
      const [record] = fromColumns(structuredClone(columns)) as Array<Record<string, unknown>>;
      expect(record).toEqual({ [`k${i}`]: i, v: 'x' });
    }
    // 32 held at most; compiles spend tokens (32, one more per 1,024 records rebuilt).
    expect(compiledShapes().held).toBeLessThanOrEqual(32);
    expect(compiledShapes().compiled - before).toBeLessThanOrEqual(40);
    expect(compiledShapes().compiled - before).toBeGreaterThan(0);
  });
});
