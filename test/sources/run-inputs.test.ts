import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';

const repo = join(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
// vega-datasets exports only its JS entry; its data folder sits next to it in the package.
const vega = join(dirname(dirname(require.resolve('vega-datasets'))), 'data');
const dir = scratchDir('warmflow-run-inputs-');

/** A flow over movies: per genre, the movie's title and gross, written to a JSONL sink. */
function moviesFlow(): { flow: string; data: string; count: number } {
  const movies = JSON.parse(readFileSync(join(vega, 'movies.json'), 'utf8')) as unknown[];
  const data = join(dir, 'movies.jsonl');
  writeFileSync(data, movies.map((m) => JSON.stringify(m)).join('\n') + '\n');
  writeFileSync(
    join(dir, 'tag.mjs'),
    `export function tag(m) {
  return { title: String(m.Title), genre: m['Major Genre'] ?? 'unknown', gross: m['US Gross'] ?? null };
}
`,
  );
  const flow = join(dir, 'flow.yaml');
  writeFileSync(
    flow,
    `name: movies-stdin
streams:
  movies: { type: Movie, source: ./movies.jsonl }
functions:
  - name: tag
    module: ./tag.mjs
    input: [Movie]
    output: [Tagged]
`,
  );
  return { flow, data, count: movies.length };
}

function warmflow(args: string[], stdin?: Buffer) {
  return spawnSync(process.execPath, [join(repo, 'bin/warmflow.js'), ...args], {
    input: stdin ?? Buffer.alloc(0),
    encoding: 'utf8',
    env: { ...process.env, WARMFLOW_HOME: join(dir, 'home') },
    timeout: 120_000,
  });
}

/** The JSONL sink files of a run's output folder, each sorted (threads interleave records). */
function outputs(out: string): Record<string, string[]> {
  const files: Record<string, string[]> = {};
  for (const name of readdirSync(out).filter((f) => f.endsWith('.jsonl')))
    files[name] = readFileSync(join(out, name), 'utf8').split('\n').filter(Boolean).sort();
  return files;
}

describe('standard input', () => {
  it('`--input -` reads every record once and writes the same outputs as the file', () => {
    const { flow, data, count } = moviesFlow();
    const fromFile = warmflow([
      'run',
      flow,
      '--input',
      data,
      '--json',
      '--no-history',
      '--out',
      join(dir, 'a'),
    ]);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    const fromStdin = warmflow(
      ['run', flow, '--input', '-', '--json', '--no-history', '--out', join(dir, 'b')],
      readFileSync(data),
    );
    expect(fromStdin.status, fromStdin.stderr).toBe(0);
    const status = JSON.parse(fromStdin.stdout) as {
      outcome: string;
      nodes: Array<{ node_id: string; records_in: number; records_out: number }>;
    };
    expect(status.outcome).toBe('succeeded');
    expect(status.nodes.find((n) => n.node_id === 'source:movies')?.records_out).toBe(count);
    expect(status.nodes.find((n) => n.node_id === 'tag')?.records_in).toBe(count);
    const a = outputs(join(dir, 'a'));
    expect(a['Tagged.jsonl']).toHaveLength(count);
    expect(outputs(join(dir, 'b'))).toEqual(a);
  });
});

describe('inputs that no stream reads are errors (exit 2) naming the streams', () => {
  const orders = join(repo, 'examples/orders/flow.yaml');

  it('STREAM=FILE naming no stream', async () => {
    const { flow, data } = moviesFlow();
    const result = await runCli('run', flow, '--input', `nosuch=${data}`, '--no-history');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nosuch=… names no stream/);
    expect(result.stderr).toMatch(/movies \(Movie\)/);
  });

  it('a bare path on a flow with two streams', async () => {
    const result = await runCli(
      'run',
      orders,
      '--input',
      '/tmp/does-not-exist.jsonl',
      '--no-history',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/names no stream/);
    expect(result.stderr).toMatch(/web \(WebOrder\), pos \(PosSale\)/);
  });

  it('a missing file', async () => {
    const { flow } = moviesFlow();
    const result = await runCli('run', flow, '--input', join(dir, 'missing.jsonl'), '--no-history');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing\.jsonl \(no such file\)/);
  });

  it('the same stream given twice', async () => {
    const result = await runCli('run', orders, '--input', 'web=a.jsonl', '--input', 'web=b.jsonl');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/stream "web" is given two inputs/);
  });
});

describe('unreadable and binary inputs are invalid input (exit 2)', () => {
  it('profile of a missing file, of a PNG, and run on a PNG', async () => {
    const missing = await runCli('profile', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const png = await runCli('profile', join(vega, '7zip.png'));
    expect(png.code).toBe(2);
    expect(png.stderr).toMatch(/PNG image file, not records/);
    const { flow } = moviesFlow();
    const run = await runCli('run', flow, '--input', join(vega, '7zip.png'), '--no-history');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/PNG/);
  });
});

describe('declared field types', () => {
  it('a CSV stream is typed as the flow declares it, in the run as in the profile', async () => {
    const csv = join(dir, 'zips.csv');
    writeFileSync(
      csv,
      readFileSync(join(vega, 'zipcodes.csv'), 'utf8').split('\n').slice(0, 400).join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'kinds.mjs'),
      `export function kinds(z) {
  return { zip: z.zip_code, latitude: typeof z.latitude, longitude: typeof z.longitude };
}
`,
    );
    const flow = join(dir, 'zips.yaml');
    writeFileSync(
      flow,
      `name: zips-declared
streams:
  zips: { type: Zip, source: ./zips.csv }
types:
  Zip: { fields: { latitude: string, zip_code: string } }
functions:
  - name: kinds
    module: ./kinds.mjs
    input: [Zip]
    output: [Kinds]
`,
    );
    const out = join(dir, 'zips-out');
    const result = await runCli('run', flow, '--no-history', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const rows = readFileSync(join(out, 'Kinds.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { zip: unknown; latitude: string; longitude: string });
    expect(rows).toHaveLength(399);
    expect(new Set(rows.map((r) => r.latitude))).toEqual(new Set(['string']));
    expect(new Set(rows.map((r) => r.longitude))).toEqual(new Set(['number']));
    expect(rows.map((r) => r.zip)).toContain('00501');
  });
});
