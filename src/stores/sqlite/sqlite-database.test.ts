import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../open-store.js';
import { betterSqlite3, enableWal } from './sqlite-database.js';

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * Another connection (a thread, as a worker's data-plane threads are) writing to a database
 * still in rollback-journal mode: it holds its write lock for `holdMs`, then commits.
 */
async function holdWriteLock(file: string, holdMs: number): Promise<Worker> {
  const holder = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.driver);
     const db = new Database(workerData.file);
     db.pragma('journal_mode = DELETE');
     db.exec('CREATE TABLE IF NOT EXISTS t (k)');
     db.exec('BEGIN IMMEDIATE');
     db.exec('INSERT INTO t VALUES (1)');
     parentPort.postMessage('held');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
     db.exec('COMMIT');
     db.close();`,
    { eval: true, workerData: { driver, file, holdMs } },
  );
  await new Promise<void>((resolve, reject) => {
    holder.once('message', () => resolve());
    holder.once('error', reject);
  });
  return holder;
}

describe('SQLite connections in WAL mode', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-sqlite-wal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an open waits for a writer that holds a new database in rollback mode, instead of failing at once', async () => {
    const file = path.join(dir, 'shared.db');
    const holder = await holdWriteLock(file, 300);
    const started = performance.now();
    const store = await openStore('shared', { kind: 'sqlite', path: file });
    const waited = performance.now() - started;
    await store.close();
    await new Promise((resolve) => holder.once('exit', resolve));
    // Without the retry the switch to WAL fails in about a millisecond with SQLITE_BUSY.
    expect(waited).toBeGreaterThan(150);
    const db = new (betterSqlite3())(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    db.close();
  });

  it('a lock held past the timeout still fails, with the driver’s reason', async () => {
    const file = path.join(dir, 'locked.db');
    const holder = await holdWriteLock(file, 1500);
    const db = new (betterSqlite3())(file, { timeout: 50 });
    const started = performance.now();
    expect(() => enableWal(db, 100)).toThrow(/database is locked/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    db.close();
    await new Promise((resolve) => holder.once('exit', resolve));
  });
});
