import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const sample = (name: string, file: string): string =>
  fileURLToPath(new URL(`../../bench/data/azure-functions-2019/${name}/${file}`, import.meta.url));

const FIELDS = [
  'functions',
  'invocations',
  'cold_starts',
  'cold_start_ratio',
  'p75',
  'wasted_mb_minutes',
  'wasted_vs_fixed10',
  'cost',
];

describe('warmflow simulate', () => {
  it('prints one JSON object keyed by each policy as given', async () => {
    const { code, stdout, stderr } = await runCli(
      'simulate',
      '--invocations',
      sample('sample-100-8h', 'invocations.csv'),
      '--memory',
      sample('sample-100-8h', 'memory.csv'),
      '--policy',
      'fixed:10,hybrid,warmflow:1,fixed:1',
      '--json',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as Record<string, Record<string, number>>;
    expect(Object.keys(out)).toEqual(['fixed:10', 'hybrid', 'warmflow:1', 'fixed:1']);
    for (const report of Object.values(out))
      expect(Object.keys(report).sort()).toEqual([...FIELDS].sort());
    expect(out['fixed:10'].wasted_vs_fixed10).toBe(1);
    expect(out['fixed:10'].functions).toBe(100);
    // The budget mode keeps within fixed:10's waste and has fewer cold starts.
    expect(out['warmflow:1'].cold_starts).toBeLessThan(out['fixed:10'].cold_starts);
    expect(out['warmflow:1'].wasted_mb_minutes).toBeLessThanOrEqual(
      out['fixed:10'].wasted_mb_minutes,
    );
    expect(out['fixed:1'].cold_starts).toBeGreaterThan(out['fixed:10'].cold_starts);
  });

  it('counts only minutes before --until and prints a table without --json', async () => {
    const args = [
      'simulate',
      '--invocations',
      sample('example-4', 'invocations.csv'),
      '--memory',
      sample('example-4', 'memory.csv'),
      '--policy',
      'fixed:10',
    ];
    const full = JSON.parse((await runCli(...args, '--json')).stdout) as Record<
      string,
      { invocations: number }
    >;
    const part = JSON.parse((await runCli(...args, '--until', '60', '--json')).stdout) as Record<
      string,
      { invocations: number }
    >;
    expect(part['fixed:10'].invocations).toBeLessThan(full['fixed:10'].invocations);
    const table = await runCli(...args);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^4 functions, \d+ invocations\npolicy\s+cold starts/);
  });

  it('refuses an unknown policy with the syntax', async () => {
    const { code, stderr } = await runCli(
      'simulate',
      '--invocations',
      sample('example-4', 'invocations.csv'),
      '--memory',
      sample('example-4', 'memory.csv'),
      '--policy',
      'fixed:10,lru',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/policy "lru": unknown policy/);
    expect(stderr).toMatch(/hint: policies: fixed:K/);
  });
});
