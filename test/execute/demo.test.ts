import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('warmflow demo', () => {
  const previousHome = process.env.WARMFLOW_HOME;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-demo-'));
  afterAll(() => {
    if (previousHome === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = previousHome;
    rmSync(dir, { recursive: true, force: true });
  });

  it('names DCP, RPR and RAC, explains the prior of schema evolution, says where things are and what next', async () => {
    process.env.WARMFLOW_HOME = path.join(dir, 'home');
    const out = path.join(dir, 'out');
    const { code, stdout } = await runCli('demo', '--out', out);
    expect(code).toBe(0);
    expect(stdout).toContain('SUCCEEDED (warm pool)');
    expect(stdout).toContain('DCP (Data Characteristic Profile)');
    expect(stdout).toContain('RPR (Resource Provisioning Request)');
    expect(stdout).toContain('RAC (Resource Allocation Confirmation)');
    expect(stdout).toMatch(
      /starts from a prior of 0\.5 with\s+no evidence .* \(here \d+ windows of \d+ records, \d+ changes?\)/s,
    );
    expect(stdout).toMatch(/Session: store "warehouse" \(sqlite\), file \S+warehouse\.db/);
    expect(stdout).toContain(`dead letters: ${path.join(out, 'dead-letters.jsonl')}`);
    expect(stdout).toContain(path.join(dir, 'home', 'warmflow.db'));
    expect(stdout).toMatch(/warmflow demo --cold\s+the same run on on-demand resources/);
    expect(stdout).toMatch(/warmflow serve\s+the HTTP API and the dashboard/);
  }, 120_000);
});
