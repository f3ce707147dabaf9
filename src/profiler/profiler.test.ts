import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Profiler } from './profiler.js';
import type { Dcp } from './dcp.js';
import { HyperLogLog } from './sketches/hyper-log-log.js';
import { MisraGries } from './sketches/misra-gries.js';

const record = fc.record(
  {
    id: fc.integer({ min: 0, max: 50 }),
    name: fc.oneof(fc.constantFrom('ann', 'bob', 'cy', ''), fc.constant(null)),
    score: fc.oneof(
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.integer({ min: -5, max: 5 }),
    ),
    ok: fc.boolean(),
    tags: fc.array(fc.constantFrom('x', 'y', 'z'), { maxLength: 3 }),
    meta: fc.record(
      { depth: fc.integer({ min: 0, max: 3 }), note: fc.option(fc.string({ maxLength: 4 })) },
      { requiredKeys: ['depth'] },
    ),
    ts: fc.integer({ min: 1_600_000_000_000, max: 1_600_000_100_000 }),
  },
  { requiredKeys: ['id'] },
);

/** A snapshot with float sums rounded, so merge order cannot make them differ in the last bit. */
function comparable(dcp: Dcp): unknown {
  const fields = Object.fromEntries(
    Object.entries(dcp.fields).map(([path, f]) => {
      const { frequent, numeric, ...rest } = f;
      return [
        path,
        {
          ...rest,
          numeric: numeric && { ...numeric, mean: Math.round(numeric.mean * 1e6) / 1e6 },
          frequent: frequent?.every((v) => v.error === 0) ? frequent : 'approximate',
        },
      ];
    }),
  );
  return { ...dcp, fields };
}

describe('Profiler', () => {
  it('counts presence, nulls and types per dotted path, array elements as path[]', () => {
    const p = new Profiler();
    p.add({ a: 1, b: 'x', c: { d: true, e: null }, f: [1, 2.5, 'z'] });
    p.add({ a: 2.5, b: null, c: { d: false } });
    p.add({ a: null, f: [] });
    const dcp = p.snapshot();
    expect(dcp.fields.a).toMatchObject({
      present: 3,
      nulls: 1,
      types: { integer: 1, float: 1, null: 1 },
      inferred_type: 'float',
    });
    expect(dcp.fields.b).toMatchObject({ present: 2, nulls: 1, inferred_type: 'string' });
    expect(dcp.fields['c.d']).toMatchObject({
      present: 2,
      types: { boolean: 2 },
      distinct: { estimate: 2, exact: true },
    });
    expect(dcp.fields['c.e']).toMatchObject({ present: 1, nulls: 1, inferred_type: 'null' });
    expect(dcp.fields['f[]']).toMatchObject({
      present: 3,
      types: { integer: 1, float: 1, string: 1 },
    });
    expect(dcp.fields.f).toMatchObject({ types: { array: 2 } });
    expect(dcp.cardinality).toMatchObject({ a: 2, b: 1, 'c.d': 2, 'f[]': 3 });
    expect(dcp.cardinality).not.toHaveProperty('c');
    expect(dcp.volume.records).toBe(3);
    expect(dcp.fields.a.numeric).toMatchObject({ min: 1, max: 2.5, mean: 1.75 });
  });

  it('has a type distribution that is each type’s share of all field values', () => {
    const p = new Profiler();
    p.add({ a: 1, b: 'x' });
    p.add({ a: 2, b: null });
    expect(p.snapshot().dataTypeDistribution).toEqual({ integer: 0.5, string: 0.25, null: 0.25 });
  });

  it('merging A and B equals profiling A then B (property)', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 60 }),
        fc.array(record, { maxLength: 60 }),
        (a, b) => {
          const window = 5;
          a = a.slice(0, a.length - (a.length % window));
          const pa = new Profiler({ window });
          const pb = new Profiler({ window });
          const seq = new Profiler({ window });
          for (const r of a) {
            pa.add(r);
            seq.add(r);
          }
          for (const r of b) {
            pb.add(r);
            seq.add(r);
          }
          pa.merge(pb);
          const merged = pa.snapshot();
          const sequential = seq.snapshot();
          // Sequential keeps a trailing partial window open; a merge settles B's. Settle both alike.
          if (b.length % window !== 0) {
            expect(merged.schema!.windows).toBeGreaterThanOrEqual(sequential.schema!.windows);
            merged.schema = sequential.schema;
            merged.schema_evolution_probability = sequential.schema_evolution_probability;
          }
          expect(comparable(merged)).toEqual(comparable(sequential));
        },
      ),
      { numRuns: 120, seed: 11 },
    );
  });

  it('round-trips its whole state through JSON (for shipping between processes)', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 80 }), (records) => {
        const p = new Profiler({ window: 4 });
        records = records.slice(0, Math.max(4, records.length - (records.length % 4)));
        for (const r of records) p.add(r);
        p.addMalformed(7, 'bad');
        const copy = Profiler.fromJSON(JSON.parse(JSON.stringify(p.toJSON())));
        expect(comparable(copy.snapshot())).toEqual(comparable(p.snapshot()));
        // And the copy keeps working.
        copy.add(records[0]);
        expect(copy.records).toBe(p.records + 1);
      }),
      { numRuns: 40, seed: 12 },
    );
  });

  describe('schema_evolution_probability = (changes + 1) / (windows - 1 + 2)', () => {
    it('is 1/11 for ten identical windows', () => {
      const p = new Profiler({ window: 10 });
      for (let i = 0; i < 100; i++) p.add({ id: i, name: `n${i}` });
      const dcp = p.snapshot();
      expect(dcp.schema).toEqual({ window_size: 10, windows: 10, changes: 0 });
      expect(dcp.schema_evolution_probability).toBeCloseTo(1 / 11, 4);
    });

    it('counts a field added, a field removed and a retyped field as changes', () => {
      const p = new Profiler({ window: 10 });
      for (let i = 0; i < 30; i++) p.add({ id: i });
      for (let i = 30; i < 60; i++) p.add({ id: i, extra: 1 }); // added
      for (let i = 60; i < 90; i++) p.add({ id: i }); // removed
      for (let i = 90; i < 120; i++) p.add({ id: String(i) }); // retyped
      const dcp = p.snapshot();
      expect(dcp.schema).toEqual({ window_size: 10, windows: 12, changes: 3 });
      expect(dcp.schema_evolution_probability).toBeCloseTo(4 / 13, 4);
    });

    it('ignores nulls and integer/float changes (one numeric family)', () => {
      const p = new Profiler({ window: 2 });
      for (let i = 0; i < 20; i++) p.add({ x: i % 4 === 0 ? null : i % 3 === 0 ? 1.5 : 2, y: 'a' });
      expect(p.snapshot().schema!.changes).toBe(0);
    });

    it('is near 1 when every window differs', () => {
      const p = new Profiler({ window: 5 });
      for (let w = 0; w < 20; w++) for (let i = 0; i < 5; i++) p.add({ [`f${w}`]: i });
      expect(p.snapshot().schema_evolution_probability).toBeCloseTo(20 / 21, 4);
    });

    it('compares the boundary windows when merging', () => {
      const a = new Profiler({ window: 10 });
      const b = new Profiler({ window: 10 });
      for (let i = 0; i < 50; i++) a.add({ id: i });
      for (let i = 0; i < 50; i++) b.add({ id: i, added: true });
      a.merge(b);
      expect(a.snapshot().schema).toEqual({ window_size: 10, windows: 10, changes: 1 });
    });
  });

  describe('data_quality_score = (completeness + validity + consistency) / 3', () => {
    it('computes the three parts from their published definitions', () => {
      const p = new Profiler({ expect: { age: { type: 'integer', min: 0, max: 150 } } });
      p.add({ name: 'a', age: 30 });
      p.add({ name: 'b', age: -4 }); // breaks min
      p.add({ name: null, age: 40 }); // incomplete
      p.add({ name: 'd', age: 'old' }); // wrong type
      p.add({ age: 50 }); // name missing
      const dcp = p.snapshot();
      // completeness: name 3 of 5 filled, age 5 of 5 → 8 / 10.
      expect(dcp.quality!.completeness).toBeCloseTo(0.8, 6);
      // validity: name 3 strings of 3 non-null; age 4 integers − 1 broken = 3 of 5 → 6 / 8.
      expect(dcp.quality!.validity).toBeCloseTo(0.75, 6);
      // fingerprints: {name:string, age:number} ×2, {age:number} ×2, {name:string, age:string} ×1.
      expect(dcp.quality!.consistency).toBeCloseTo(0.4, 6);
      expect(dcp.data_quality_score).toBeCloseTo((0.8 + 0.75 + 0.4) / 3, 4);
      expect(dcp.fields.age.validity).toBeCloseTo(0.6, 6);
    });

    it('is 1 for clean uniform data', () => {
      const p = new Profiler();
      for (let i = 0; i < 100; i++) p.add({ id: i, v: i / 3, s: 'x' });
      expect(p.snapshot().data_quality_score).toBe(1);
    });
  });

  describe('records_per_second', () => {
    it('uses the declared time field (epoch ms)', () => {
      const p = new Profiler({ timeField: 'at' });
      for (let i = 0; i < 101; i++) p.add({ at: 1_700_000_000_000 + i * 10, v: i });
      expect(p.snapshot().volume).toMatchObject({
        rate_source: 'event_time',
        time_field: 'at',
        records_per_second: 100,
      });
    });

    it('detects a field that is clearly a timestamp (ISO strings)', () => {
      const p = new Profiler();
      for (let i = 0; i < 61; i++)
        p.add({ when: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(), n: i });
      expect(p.snapshot().volume).toMatchObject({ rate_source: 'event_time', time_field: 'when' });
      expect(p.snapshot().volume.records_per_second).toBeCloseTo(1 / 60, 6);
    });

    it('uses arrival times for a live source, and says none otherwise', () => {
      const live = new Profiler();
      for (let i = 0; i < 11; i++) live.add({ v: i }, 10, 1000 + i * 500);
      expect(live.snapshot().volume).toMatchObject({
        rate_source: 'arrival',
        records_per_second: 2,
      });
      const none = new Profiler();
      none.add({ v: 1 });
      expect(none.snapshot().volume).toMatchObject({ rate_source: 'none', records_per_second: 0 });
    });

    it('does not guess between two unnamed date fields', () => {
      const p = new Profiler();
      for (let i = 0; i < 10; i++)
        p.add({ a: `2024-01-0${(i % 9) + 1}`, b: `2023-05-0${(i % 9) + 1}` });
      expect(p.snapshot().volume.rate_source).toBe('none');
    });
  });

  it('reports malformed lines with their line numbers and keeps going', () => {
    const p = new Profiler({ malformedExamples: 2 });
    p.add({ a: 1 });
    p.addMalformed(2, 'Unexpected token');
    p.addMalformed(5, 'x');
    p.addMalformed(9, 'y');
    p.add({ a: 2 });
    expect(p.snapshot().malformed).toEqual({
      count: 3,
      examples: [
        { line: 2, error: 'Unexpected token' },
        { line: 5, error: 'x' },
      ],
    });
    expect(p.snapshot().volume.records).toBe(2);
  });

  it('bounds the number of fields and counts what it did not profile', () => {
    const p = new Profiler({ maxFields: 3 });
    for (let i = 0; i < 10; i++) p.add({ [`k${i}`]: i });
    const dcp = p.snapshot();
    expect(Object.keys(dcp.fields)).toHaveLength(3);
    expect(dcp.overflow_values).toBe(7);
  });

  it('profiles records that are not objects as the field $', () => {
    const p = new Profiler();
    for (const v of [1, 2, 'x', null]) p.add(v);
    expect(p.snapshot().fields.$).toMatchObject({
      present: 4,
      nulls: 1,
      types: { integer: 2, string: 1, null: 1 },
    });
  });

  describe('its shortcuts give what feeding each value to the sketches gives', () => {
    /** Runs of repeated values, nested objects and arrays, a few shapes: what the shortcuts meet. */
    const value = fc.oneof(
      fc.constantFrom('a', 'b', 'x', '', '2024-01-02', true, false, 0, -0, 1, 2.5, null),
      fc.integer({ min: 0, max: 300 }),
      fc.string({ maxLength: 3 }),
    );
    const recordOf = fc.record(
      {
        a: value,
        b: value,
        c: fc.record({ d: value, e: fc.array(value, { maxLength: 3 }) }, { requiredKeys: ['d'] }),
        f: fc.array(fc.record({ g: value }), { maxLength: 2 }),
      },
      { requiredKeys: ['a'] },
    );
    const stream = fc
      .array(fc.tuple(fc.oneof(recordOf, value), fc.integer({ min: 1, max: 6 })), {
        maxLength: 120,
      })
      .map((runs) => runs.flatMap(([r, n]) => Array.from({ length: n }, () => r)));

    /** Every scalar of `v` under `path`, in the order the profiler walks them. */
    function scalars(v: unknown, path: string, out: Map<string, unknown[]>): void {
      if (v === null || v === undefined) return;
      if (Array.isArray(v)) {
        for (const e of v) scalars(e, `${path}[]`, out);
      } else if (typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) scalars(x, path === '' ? k : `${path}.${k}`, out);
      } else {
        const list = out.get(path) ?? [];
        list.push(v);
        out.set(path, list);
      }
    }

    it('for every field, with reads and merges in between (property)', () => {
      fc.assert(
        fc.property(stream, fc.array(fc.nat(400), { maxLength: 4 }), (records, readsAt) => {
          const p = new Profiler({ frequentK: 4, hllPrecision: 4 });
          const perPath = new Map<string, unknown[]>();
          records.forEach((r, i) => {
            p.add(r);
            scalars(r, typeof r === 'object' && r !== null ? '' : '$', perPath);
            if (readsAt.includes(i)) p.snapshot();
            if (readsAt.includes(i + 1)) p.merge(new Profiler({ frequentK: 4, hllPrecision: 4 }));
          });
          const json = p.toJSON();
          const paths: string[] = [];
          for (const f of json.fields) {
            const parent = f.parent >= 0 ? paths[f.parent] : '';
            const path = f.element ? `${parent}[]` : parent === '' ? f.key : `${parent}.${f.key}`;
            paths.push(path);
            const mg = new MisraGries(4);
            const hll = new HyperLogLog(4);
            for (const v of perPath.get(path) ?? []) {
              mg.add(v as string | number | boolean);
              hll.add(v);
            }
            expect(f.mg, path).toEqual(mg.toJSON());
            expect(f.hll, path).toEqual(hll.toJSON());
          }
        }),
        { numRuns: 200, seed: 17 },
      );
    });
  });
});
