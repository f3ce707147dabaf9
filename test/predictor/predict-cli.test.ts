import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Rpr } from '../../src/predictor/rpr.js';

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
  process.env.WARMFLOW_HOME = mkdtempSync(join(tmpdir(), 'predict-home-'));
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
});
