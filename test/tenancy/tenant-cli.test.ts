import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { TenancyStore } from '../../src/tenancy/tenancy-store.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCli(...args);
  return { code, out: stdout, err: stderr };
}

describe('warmflow tenant', () => {
  let home: string;
  const previous = { home: process.env.WARMFLOW_HOME, admin: process.env.WARMFLOW_ADMIN_KEY };
  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'wf-tenant-cli-'));
    process.env.WARMFLOW_HOME = home;
    process.env.WARMFLOW_ADMIN_KEY = 'tenant-cli-admin-key-0123456789';
  });
  afterAll(() => {
    process.env.WARMFLOW_HOME = previous.home;
    process.env.WARMFLOW_ADMIN_KEY = previous.admin;
    rmSync(home, { recursive: true, force: true });
  });

  it('creates, lists, keys and revokes locally', async () => {
    const created = await cli('tenant', 'create', 'acme', '--cores', '2', '--json');
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.out) as {
      id: string;
      api_key: string;
      quotas: { cores: number };
    };
    expect(tenant.quotas.cores).toBe(2);
    const list = JSON.parse((await cli('tenant', 'list', '--json')).out) as {
      tenants: Array<{ name: string }>;
    };
    expect(list.tenants.map((t) => t.name)).toEqual(['acme']);
    const key = JSON.parse((await cli('tenant', 'key', 'acme', '--json')).out) as {
      key_id: string;
      api_key: string;
    };
    expect((await cli('tenant', 'revoke', 'acme', key.key_id)).code).toBe(0);
    const store = new TenancyStore();
    expect(store.authenticate(key.api_key)).toBeUndefined();
    expect(store.authenticate(tenant.api_key)?.kind).toBe('tenant');
    store.close();
    const bad = await cli('tenant', 'create', 'x', '--cores', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--cores must be a positive number');
    expect((await cli('tenant', 'revoke', 'acme', '0000000000000000')).code).toBe(1);
  });

  it('talks to a running server with --server and the admin key', async () => {
    const server: RunningServer = await startServer({
      port: 0,
      databasePath: path.join(home, 'server.db'),
    });
    try {
      const created = await cli('tenant', 'create', 'remote', '--server', server.url, '--json');
      expect(created.code).toBe(0);
      const tenant = JSON.parse(created.out) as { id: string; api_key: string };
      const res = await fetch(`${server.url}/v1/flows`, {
        headers: { authorization: `Bearer ${tenant.api_key}` },
      });
      expect(res.status).toBe(200);
      const key = await cli('tenant', 'key', tenant.id, '--server', server.url);
      expect(key.out).toMatch(/api key \(shown once\): wf_/);
      process.env.WARMFLOW_ADMIN_KEY = 'a-wrong-admin-key-0123456789';
      const refused = await cli('tenant', 'list', '--server', server.url);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('401');
    } finally {
      process.env.WARMFLOW_ADMIN_KEY = 'tenant-cli-admin-key-0123456789';
      await server.close();
    }
  });
});
