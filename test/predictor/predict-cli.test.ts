import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Rpr } from '../../src/predictor/rpr.js';
import { scratchDir } from '../helpers/scratch.js';

const flowFile = fileURLToPath(new URL('../../examples/clickstream/flow.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'predict-cli-'));
const dcpFile = join(dir, 'dcp.json');
writeFileSync(
  dcpFile,
  JSON.stringify({
    dataTypeDistribution: { string: 1 },
    cardinality: { user_id: 3000 },
    volume: {
      avg_record_size: 95,
      records_per_second: 50_000,
      rate_source: 'event_time',
      records: 1e6,
      bytes: 95e6,
    },
    schema_evolution_probability: 0,
    data_quality_score: 1,
    fields: {},
  }),
);

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  process.env.WARMFLOW_HOME = scratchDir('predict-home-');
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const run = (...args: string[]) => main(['node', 'warmflow', 'predict', flowFile, ...args]);

describe('warmflow predict', () => {
  it('--json prints the array of RPRs with their reasoning', async () => {
    const code = await run('--profile', dcpFile, '--no-calibrate', '--json');
    expect(code, err).toBe(0);
    const rprs = JSON.parse(out) as Rpr[];
    expect(rprs.map((r) => r.node_id)).toContain('sessionize');
    const session = rprs.find((r) => r.node_id === 'sessionize')!;
    expect(session.reasoning!.inputs).toMatchObject({
      records_per_second: 50_000,
      key_cardinality: 3000,
    });
    expect(session.reasoning!.hourly_cost).toBeGreaterThan(0);
  });

  it('prints each RPR and why, under a price table from --prices', async () => {
    const prices = join(dir, 'prices.json');
    writeFileSync(
      prices,
      JSON.stringify({ cpu_core_hour: 1, memory_gib_hour: 0, currency: 'EUR' }),
    );
    const code = await run(
      '--profile',
      dcpFile,
      '--no-calibrate',
      '--no-history',
      '--prices',
      prices,
    );
    expect(code, err).toBe(0);
    expect(out).toMatch(/sessionize {2}\[function\]/);
    expect(out).toMatch(/key user_id: 3000 distinct \(DCP cardinality\["user_id"\]\)/);
    expect(out).toMatch(/from defaults/);
    const cores = [...out.matchAll(/cpu_cores=(\d+(\.\d+)?)/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    expect(out).toContain(`total: ${cores.toFixed(4)} EUR/hour`);
  });

  it('refuses bad arguments with exit code 2 and a hint', async () => {
    expect(await run('--profile', dcpFile, '--input', dcpFile)).toBe(2);
    expect(err).toMatch(/cannot be combined/);
    expect(await run('--profile', join(dir, 'missing.json'))).toBe(2);
    expect(err).toMatch(/warmflow profile SOURCE --json/);
  });

  it('says as a warning, text and --json, when calibration could not run', async () => {
    const flowDir = mkdtempSync(join(tmpdir(), 'predict-throws-'));
    writeFileSync(join(flowDir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(flowDir, 'fns.js'),
      "export function boom(r) { throw new Error('bad record ' + r.n); }\n",
    );
    writeFileSync(
      join(flowDir, 'in.jsonl'),
      Array.from({ length: 40 }, (_, n) => JSON.stringify({ n })).join('\n') + '\n',
    );
    const throwing = join(flowDir, 'flow.yaml');
    writeFileSync(
      throwing,
      'name: throws\nstreams:\n  numbers: { type: N, source: in.jsonl }\n' +
        'functions:\n  - { name: boom, module: fns.js, input: [N], output: [M] }\n',
    );
    const predictThrowing = (...args: string[]) =>
      main(['node', 'warmflow', 'predict', throwing, '--no-history', ...args]);

    expect(await predictThrowing('--json')).toBe(0);
    expect((JSON.parse(out) as Rpr[]).map((r) => r.node_id)).toContain('boom');
    const warnings = err
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { warning: string; node_id?: string; message: string });
    expect(warnings.map((w) => w.warning)).toEqual([
      'engine_calibration_skipped',
      'calibration_all_failed',
    ]);
    expect(warnings[0].message).toMatch(/engine calibration could not run .*bad record/);
    expect(warnings[1]).toMatchObject({ node_id: 'boom' });

    out = '';
    err = '';
    expect(await predictThrowing('--no-engine')).toBe(0);
    expect(err).toBe(
      'warning: function "boom" threw on all 40 sample records: its measured cost and selectivity ' +
        'are those of failing calls; fix the function (a run would dead-letter its input) before trusting its RPR\n',
    );
    expect(out).toContain('prediction for template "throws"');

    // Calibration not asked for: nothing to warn about.
    err = '';
    expect(await predictThrowing('--no-calibrate')).toBe(0);
    expect(err).toBe('');
  });
});
