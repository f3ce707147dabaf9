import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { registerProfile } from '../../src/cli/commands/profile.js';
import { WarmflowError } from '../../src/errors.js';
import type { Dcp } from '../../src/profiler/dcp.js';

const dir = mkdtempSync(join(tmpdir(), 'profile-cli-'));
const events = join(dir, 'events.jsonl');
writeFileSync(
  events,
  Array.from({ length: 300 }, (_, i) =>
    i === 41
      ? '{"broken": '
      : JSON.stringify({
          ts: 1_700_000_000 + i,
          user: `u${i % 30}`,
          amount: i % 10 === 0 ? null : i / 4,
        }),
  ).join('\n') + '\n',
);

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `warmflow profile ...args` in-process with only this command registered. */
async function cli(...args: string[]): Promise<void> {
  const program = new Command('warmflow').exitOverride();
  registerProfile(program);
  await program.parseAsync(['node', 'warmflow', 'profile', ...args]);
}

describe('warmflow profile', () => {
  it('--json prints only the DCP, with the spec field names, malformed lines reported by number', async () => {
    await cli(events, '--json', '--window', '50');
    const dcp = JSON.parse(out) as Dcp;
    expect(Object.keys(dcp)).toEqual(
      expect.arrayContaining([
        'dataTypeDistribution',
        'cardinality',
        'volume',
        'schema_evolution_probability',
        'data_quality_score',
        'fields',
      ]),
    );
    expect(dcp.volume).toMatchObject({ records: 299, rate_source: 'event_time', time_field: 'ts' });
    // 299 timestamps one second apart, one missing: 298 intervals over 299 s.
    expect(dcp.volume.records_per_second).toBeCloseTo(298 / 299, 5);
    expect(dcp.cardinality.user).toBe(30);
    expect(dcp.malformed).toEqual({
      count: 1,
      examples: [{ line: 42, error: expect.any(String) as string }],
    });
    expect(dcp.schema).toMatchObject({ window_size: 50 });
    expect(err).toBe('');
  });

  it('prints a readable summary by default', async () => {
    await cli(events, '--sample', '100');
    expect(out).toMatch(/events\.jsonl: 100 records/);
    expect(out).toMatch(/rate: 0\.99 records\/s \(event time "ts"\)/);
    expect(out).toMatch(/data quality score: /);
    expect(out).toMatch(/^user +string +100 +0 +30 /m);
    expect(out).toMatch(/malformed: 1 lines skipped\n {2}line 42: /);
  });

  it('honours --time-field and --reservoir', async () => {
    await cli(events, '--json', '--time-field', 'amount', '--reservoir', '20', '--seed', '3');
    const dcp = JSON.parse(out) as Dcp;
    expect(dcp.volume.records).toBe(20);
    expect(dcp.volume.time_field).toBe('amount');
  });

  it('fails clearly on a missing source and on bad flags', async () => {
    await expect(cli(join(dir, 'nope.jsonl'))).rejects.toMatchObject({
      code: 'E_SOURCE_UNREADABLE',
    });
    await expect(cli(events, '--sample', 'ten')).rejects.toBeInstanceOf(WarmflowError);
    await expect(cli(events, '--sample', '5', '--reservoir', '5')).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
    });
  });
});
