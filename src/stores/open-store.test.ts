import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { StoreSpec } from '../template/types.js';

describe('openStore', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-open-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves a sqlite path against baseDir, creating folders, default <name>.db', async () => {
    const named = await openStore(
      'state',
      { kind: 'sqlite', path: 'out/nested/state.db' },
      { baseDir: dir },
    );
    await named.close();
    expect(existsSync(path.join(dir, 'out', 'nested', 'state.db'))).toBe(true);
    const unnamed = await openStore('scratch', { kind: 'sqlite' }, { baseDir: dir });
    expect(unnamed.name).toBe('scratch');
    await unnamed.close();
    expect(existsSync(path.join(dir, 'scratch.db'))).toBe(true);
  });

  it('refuses an unknown kind and a network store without url', async () => {
    await expect(openStore('x', { kind: 'mongo' } as unknown as StoreSpec)).rejects.toMatchObject({
      code: 'E_STORE_CONFIG',
    });
    await expect(openStore('x', { kind: 'redis' })).rejects.toMatchObject({
      code: 'E_STORE_CONFIG',
    });
    await expect(openStore('x', { kind: 'postgres' })).rejects.toMatchObject({
      code: 'E_STORE_CONFIG',
    });
  });

  it('fails fast on an unreachable server, without printing its password', async () => {
    for (const url of ['redis://:hunter2@127.0.0.1:1/0', 'postgres://u:hunter2@127.0.0.1:1/db']) {
      const kind = url.startsWith('redis') ? 'redis' : 'postgres';
      const error = (await openStore('down', { kind, url }).catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'E_STORE' });
      expect(error.message).toContain('127.0.0.1:1');
      expect(error.message).not.toContain('hunter2');
    }
  });
});
