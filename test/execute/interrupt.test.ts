import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-interrupt-'));
const entry = path.join(dir, 'warmflow.mts');
writeFileSync(
  entry,
  `import { main } from ${JSON.stringify(path.join(repo, 'src/cli/main.ts'))};\n` +
    'process.exitCode = await main(process.argv);\n',
);

describe('Ctrl-C during a run', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints what was done and exits 130', async () => {
    // Replayed at 50 records/s, the 2,500 clicks take ~50 s: the signal comes well before.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        entry,
        'run',
        path.join(repo, 'examples/clickstream/flow.yaml'),
        '--rate',
        '50',
        '--no-history',
        '--out',
        path.join(dir, 'out'),
      ],
      { env: { ...process.env, WARMFLOW_HOME: path.join(dir, 'home') }, cwd: repo },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 8000));
    child.kill('SIGINT');
    const code = await exited;
    expect(stderr).toMatch(/^SIGINT: interrupted during [a-z-]+, [\d.]+ s after the start$/m);
    expect(stderr).toMatch(/^ {2}done: /m);
    expect(stderr).toContain('it was not recorded in history');
    expect(stdout).not.toContain('SUCCEEDED');
    expect(code).toBe(130);
  }, 60_000);
});
