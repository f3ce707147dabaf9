import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('the serve banner', () => {
  const previous = { home: process.env.WARMFLOW_HOME, admin: process.env.WARMFLOW_ADMIN_KEY };
  const home = mkdtempSync(path.join(os.tmpdir(), 'wf-banner-'));
  afterAll(() => {
    for (const [name, value] of [
      ['WARMFLOW_HOME', previous.home],
      ['WARMFLOW_ADMIN_KEY', previous.admin],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    rmSync(home, { recursive: true, force: true });
  });

  it('says how to get a tenant key and where to use it', async () => {
    process.env.WARMFLOW_HOME = home;
    process.env.WARMFLOW_ADMIN_KEY = 'serve-banner-admin-key-0123456789';
    const serving = runCli('serve', '--port', '0', '--sandbox', 'none');
    // Ready once it owns the control socket and listens; then stop it as Ctrl-C would.
    const socket = path.join(home, 'control.sock');
    for (let i = 0; i < 300 && !existsSync(socket); i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    process.emit('SIGINT');
    const { code, stdout } = await serving;
    expect(code).toBe(0);
    const url = /HTTP API (http:\/\/[^/\s]+)\/v1/.exec(stdout)?.[1];
    expect(url).toBeDefined();
    expect(stdout).toContain(
      `tenant key: \`warmflow tenant create NAME --server ${url}\` prints one`,
    );
    expect(stdout).toContain(`WARMFLOW_API_KEY=<key> warmflow run FLOW --server ${url}`);
  }, 60_000);
});
