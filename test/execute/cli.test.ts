import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import { repo, tempDir } from './run-helpers.js';

beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(
    (chunk: string | Uint8Array) => ((out += String(chunk)), true),
  );
  vi.spyOn(process.stderr, 'write').mockImplementation(
    (chunk: string | Uint8Array) => ((err += String(chunk)), true),
  );
  return { out: () => out, err: () => err };
}

describe('warmflow run', () => {
  it('--json prints only the CompletionStatus of a run from the warm pool and exits 0', async () => {
    const dir = tempDir();
    const io = capture();
    const code = await main([
      'node',
      'warmflow',
      'run',
      path.join(repo, 'examples/iot/flow.yaml'),
      '--json',
      '--no-history',
      '--out',
      dir,
      '--store-override',
      `metrics=sqlite:${path.join(dir, 'metrics.db')}`,
    ]);
    expect(code, io.err()).toBe(0);
    const status = JSON.parse(io.out()) as CompletionStatus;
    expect(status.outcome).toBe('succeeded');
    expect(status.provisioning).toBe('warm');
    expect(status.template).toBe('iot');
    expect(status.nodes.map((n) => n.node_id)).toContain('window');
    expect(status.nodes.find((n) => n.node_id === 'window')!.rpr).not.toBeNull();
  });

  it('refuses a bad --rate with exit code 2', async () => {
    const io = capture();
    const code = await main([
      'node',
      'warmflow',
      'run',
      path.join(repo, 'examples/iot/flow.yaml'),
      '--rate',
      '-5',
    ]);
    expect(code).toBe(2);
    expect(io.err()).toMatch(/--rate -5/);
  });

  it('refuses live-stream options for a run that reads no stream, with exit code 2, before doing anything', async () => {
    const io = capture();
    const out = tempDir();
    const code = await main([
      'node',
      'warmflow',
      'run',
      path.join(repo, 'examples/iot/flow.yaml'),
      '--max-records',
      '10',
      '--resize',
      '--out',
      out,
    ]);
    expect(code).toBe(2);
    expect(io.err()).toMatch(
      /live options \(max_records, resize\) apply to a run reading a live stream, and this one reads none/,
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('warmflow --version', () => {
  it("prints package.json's version and exits 0", async () => {
    const io = capture();
    const code = await main(['node', 'warmflow', '--version']);
    expect(code).toBe(0);
    const { version } = JSON.parse(
      (await import('node:fs')).readFileSync(path.join(repo, 'package.json'), 'utf8'),
    ) as { version: string };
    expect(io.out().trim()).toBe(version);
  });
});
