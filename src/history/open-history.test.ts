import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHistory } from './open-history.js';
import { SqliteHistory } from './sqlite/sqlite-history.js';
import { makeRun } from '../../test/history/fixtures.js';

describe('openHistory', () => {
  const saved = process.env.WARMFLOW_HOME;
  const dirs: string[] = [];
  afterEach(() => {
    if (saved === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = saved;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to SQLite under WARMFLOW_HOME', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'warmflow-home-'));
    dirs.push(home);
    process.env.WARMFLOW_HOME = path.join(home, 'nested');
    const history = await openHistory();
    expect(history).toBeInstanceOf(SqliteHistory);
    await history.record(makeRun('h1', 't', 'clicks', '2026-01-01T00:00:00.000Z'), []);
    await history.close();
    expect(existsSync(path.join(home, 'nested', 'warmflow.db'))).toBe(true);
  });

  it('opens a SQLite file at a given path, creating its folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-hist-'));
    dirs.push(dir);
    const file = path.join(dir, 'a', 'b.db');
    const history = await openHistory(file);
    await history.close();
    expect(existsSync(file)).toBe(true);
  });

  it('says clearly when PostgreSQL cannot be reached', async () => {
    await expect(openHistory('postgres://nobody:secret@127.0.0.1:1/none')).rejects.toMatchObject({
      code: 'E_HISTORY',
      message: expect.not.stringContaining('secret') as unknown,
    });
  });
});
