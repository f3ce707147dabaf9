import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerHistory } from '../../src/cli/commands/history.js';
import { openHistory } from '../../src/history/open-history.js';
import { observationsFromStatus } from '../../src/history/observations-from-status.js';
import type { HistoryRunReport } from '../../src/history/history-report.js';
import { makeRun, node } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-history-cli-'));
const db = path.join(dir, 'history.db');

/** Runs `warmflow history …` in-process and returns what it printed on stdout. */
async function history(...args: string[]): Promise<string> {
  const program = new Command('warmflow').exitOverride();
  registerHistory(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['history', ...args, '--history', db], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('warmflow history', () => {
  beforeAll(async () => {
    const store = await openHistory(db);
    const older = makeRun('run-1', 'default', 'clicks', '2026-03-01T10:00:00.000Z');
    const newer = makeRun('run-2', 'default', 'clicks', '2026-03-01T11:00:00.000Z');
    // 0.75 GiB measured on a 0.5 GB prediction: 150 % of what was given.
    newer.status.nodes[2] = node('count', 'function', {
      peak_memory_bytes: 0.75 * 2 ** 30,
      cpu_seconds: 0.5,
    });
    const other = makeRun('run-3', 'default', 'orders', '2026-03-01T12:00:00.000Z');
    for (const run of [older, newer, other]) await store.record(run, observationsFromStatus(run));
    await store.close();
    writeFileSync(path.join(dir, 'flow.yaml'), 'name: clicks\nfunctions: []\n');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the runs of a flow as JSON, newest first, predicted next to measured', async () => {
    const runs = JSON.parse(await history('clicks', '--json')) as HistoryRunReport[];
    expect(runs.map((r) => r.execution_id)).toEqual(['run-2', 'run-1']);
    const count = runs[0].nodes.find((n) => n.node_id === 'count')!;
    expect(count.predicted).toEqual({ cpu_cores: 1, memory_gb: 0.5, basis: null });
    expect(count.measured.peak_memory_bytes).toBe(0.75 * 2 ** 30);
    expect(count.measured.cores_used).toBeCloseTo(0.5 / 0.25);
    expect(count.memory_ratio).toBeCloseTo(1.5);
    // Source and sink nodes carry no prediction and are left out.
    expect(runs[0].nodes.map((n) => n.node_id)).toEqual(['parse', 'count']);
  });

  it('takes a flow file and uses its name, and honours --limit', async () => {
    const runs = JSON.parse(
      await history(path.join(dir, 'flow.yaml'), '--json', '--limit', '1'),
    ) as HistoryRunReport[];
    expect(runs.map((r) => r.execution_id)).toEqual(['run-2']);
  });

  it('lists every flow without FLOW, and prints a readable table', async () => {
    const all = JSON.parse(await history('--json')) as HistoryRunReport[];
    expect(all.map((r) => r.template)).toEqual(['orders', 'clicks', 'clicks']);
    const text = await history('clicks');
    expect(text).toContain('run-2');
    expect(text).toMatch(/count\s+1\.00\s+0\.50\s+2\.00\s+250\.0\s+768\.0\s+4000\s+150%/);
  });

  it('says so when there is nothing yet', async () => {
    expect(await history('never-ran')).toContain('no runs recorded for flow "never-ran"');
  });

  it('refuses a bad --limit', async () => {
    await expect(history('--limit', '0')).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENTS' });
  });
});
