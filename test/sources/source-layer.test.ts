import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WarmflowError } from '../../src/errors.js';
import { profile } from '../../src/profiler/profile.js';
import {
  openSource,
  readSource,
  registerSourceAdapter,
  teeSource,
  type Source,
  type SourceItem,
} from '../../src/sources/index.js';
import { scratchDir } from '../helpers/scratch.js';

const require = createRequire(import.meta.url);
// vega-datasets exports only its JS entry; its data folder sits next to it in the package.
const vega = join(dirname(dirname(require.resolve('vega-datasets'))), 'data');
const dir = scratchDir('warmflow-source-layer-');

async function all(source: Source | AsyncIterable<SourceItem[]>): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  const batches = 'batches' in source ? source.batches() : source;
  for await (const batch of batches) items.push(...batch);
  return items;
}

/** movies.json (a JSON array) as JSON Lines, and the records themselves. */
function moviesJsonl(): { file: string; records: unknown[] } {
  const records = JSON.parse(readFileSync(join(vega, 'movies.json'), 'utf8')) as unknown[];
  const file = join(dir, 'movies.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { file, records };
}

describe('one-pass sources (standard input)', () => {
  it('a tee profiles the first records and the run still reads every record once', async () => {
    const { file, records } = moviesJsonl();
    const stdin = Readable.from([readFileSync(file)]);
    const { head, whole } = teeSource(await openSource('-', { stdin }));
    expect(head.onePass).toBe(true);
    const dcp = await profile(head, { sample: 1000 });
    expect(dcp.volume.records).toBe(1000);
    // A second look (calibration) replays the same first records, reading nothing new.
    const again = await all(head.batches({ sample: 10 }));
    expect(again.map((i) => i.record)).toEqual(records.slice(0, 10));
    const run = await all(whole);
    expect(run.map((i) => i.record)).toEqual(records);
    expect(run.map((i) => i.line)).toEqual(records.map((_, i) => i + 1));
  });

  it('without a tee, standard input read twice gives the second reader only the rest', async () => {
    const stdin = Readable.from([Buffer.from('{"a":1}\n{"a":2}\n{"a":3}\n')]);
    const source = await openSource('-', { stdin });
    const first: unknown[] = [];
    for await (const batch of source.batches()) {
      first.push(...batch.map((i) => i.record));
      break;
    }
    expect(first).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(await all(source)).toEqual([]);
  });

  it('types CSV on standard input by column from the first records', async () => {
    const stdin = Readable.from([readFileSync(join(vega, 'airports.csv'))]);
    const items = await all(await openSource('-', { stdin }));
    const iata = items.map((i) => (i.record as { iata: unknown }).iata);
    expect(iata).toContain('0E0');
    expect(new Set(iata.map((v) => typeof v))).toEqual(new Set(['string']));
  });
});

describe('CSV/TSV columns get one type from the whole column', () => {
  it('airports.csv: codes such as 0E0 and 0E8 stay strings, coordinates are numbers', async () => {
    const items: SourceItem[] = [];
    for await (const item of readSource(join(vega, 'airports.csv'))) items.push(item);
    expect(items.every((i) => i.error === undefined)).toBe(true);
    const byCode = new Map(items.map((i) => [(i.record as { iata: string }).iata, i.record]));
    expect(byCode.get('0E0')).toMatchObject({ iata: '0E0' });
    expect(byCode.get('0E8')).toMatchObject({ iata: '0E8' });
    for (const { record } of items) {
      expect(typeof (record as { iata: unknown }).iata).toBe('string');
      expect(typeof (record as { latitude: unknown }).latitude).toBe('number');
    }
  });

  it('zipcodes.csv: every zip code is a string (00501 keeps its zeros), so the schema never changes', async () => {
    const items: SourceItem[] = [];
    for await (const item of readSource(join(vega, 'zipcodes.csv'))) items.push(item);
    const zips = items.map((i) => (i.record as { zip_code: unknown }).zip_code);
    expect(new Set(zips.map((z) => typeof z))).toEqual(new Set(['string']));
    expect(zips).toContain('00501');
    const dcp = await profile(join(vega, 'zipcodes.csv'));
    expect(dcp.schema_evolution_probability).toBeLessThan(0.05);
  });

  it('a town called TRUE stays a string in a text column', async () => {
    const file = join(dir, 'towns.csv');
    writeFileSync(file, 'town,pop\nParis,2100000\nTRUE,120\nLyon,500000\n');
    const towns = [];
    for await (const item of readSource(file)) towns.push(item.record);
    expect(towns).toEqual([
      { town: 'Paris', pop: 2100000 },
      { town: 'TRUE', pop: 120 },
      { town: 'Lyon', pop: 500000 },
    ]);
  });

  it('declared field types win: a numeric-looking id column stays strings when declared so', async () => {
    const items: SourceItem[] = [];
    for await (const item of readSource(join(vega, 'zipcodes.csv'), {
      fields: { latitude: 'string' },
      sample: 5,
    }))
      items.push(item);
    expect(typeof (items[0].record as { latitude: unknown }).latitude).toBe('string');
  });
});

describe('Parquet', () => {
  it('reads flights-3m.parquet through hyparquet, values as JSON would carry them', async () => {
    const items: SourceItem[] = [];
    for await (const item of readSource(join(vega, 'flights-3m.parquet'), { sample: 2000 }))
      items.push(item);
    expect(items).toHaveLength(2000);
    const first = items[0].record as Record<string, unknown>;
    expect(first).toEqual({
      date: '2001-01-01T00:01:00.000Z',
      delay: 33,
      distance: 2176,
      origin: 'LAS',
      destination: 'PHL',
    });
    expect(items.map((i) => i.line).slice(0, 3)).toEqual([1, 2, 3]);
    const dcp = await profile(join(vega, 'flights-3m.parquet'), { sample: 5000 });
    expect(dcp.volume.records).toBe(5000);
    expect(dcp.fields?.['delay']?.types).toHaveProperty('integer');
  });
});

describe('binary inputs', () => {
  it('a PNG is refused with E_SOURCE_FORMAT, whatever its name', async () => {
    const renamed = join(dir, 'image.jsonl');
    writeFileSync(renamed, readFileSync(join(vega, '7zip.png')));
    for (const file of [join(vega, '7zip.png'), renamed]) {
      const error = await profile(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WarmflowError);
      expect((error as WarmflowError).code).toBe('E_SOURCE_FORMAT');
      expect((error as WarmflowError).message).toMatch(/PNG/);
    }
  });

  it('an Arrow file is refused with E_SOURCE_FORMAT', async () => {
    const error = await profile(join(vega, 'flights-200k.arrow')).catch((e: unknown) => e);
    expect((error as WarmflowError).code).toBe('E_SOURCE_FORMAT');
  });
});

describe('adapters', () => {
  it('a new kind of source is one object implementing the contract, opened by its scheme', async () => {
    registerSourceAdapter('test-mem', (uri) => ({
      name: uri.href,
      onePass: true,
      async *batches() {
        const n = Number(uri.searchParams.get('n'));
        yield Array.from({ length: n }, (_, i) => ({ record: { i }, line: i + 1, bytes: 8 }));
      },
    }));
    const dcp = await profile('test-mem://x?n=42');
    expect(dcp.volume.records).toBe(42);
    const error = await openSource('nosuch://x').catch((e: unknown) => e);
    expect((error as WarmflowError).code).toBe('E_SOURCE_UNSUPPORTED');
  });
});

describe('profile numbers a user checks (movies.json)', () => {
  it('string fields with a few numeric values show string statistics; integer fields integer quantiles; distinct within non-null', async () => {
    const dcp = await profile(join(vega, 'movies.json'));
    const title = dcp.fields['Title'];
    expect(title.inferred_type).toBe('string');
    expect(title.types.integer ?? 0).toBeGreaterThan(0); // numeric titles such as 1776
    expect(title.numeric).toBeUndefined();
    expect(title.string_length).toBeDefined();
    const budget = dcp.fields['Production Budget'];
    expect(budget.inferred_type).toBe('integer');
    for (const q of Object.values(budget.numeric!.quantiles))
      expect(Number.isInteger(q)).toBe(true);
    for (const field of Object.values(dcp.fields))
      expect(field.distinct.estimate).toBeLessThanOrEqual(field.present - field.nulls);
  });
});
