import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RecordStore } from './record-store.js';

describe('RecordStore', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const file = () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-records-'));
    return path.join(dir, 'warmflow.db');
  };

  it('a write has committed, in order, when its promise resolves: another connection sees it', async () => {
    const db = file();
    const store = new RecordStore(db);
    const big = { text: 'x'.repeat(900_000) };
    const written = [
      store.put('flow', 't1', 'f1', big),
      store.put('flow', 't1', 'f2', { n: 2 }),
      store.put('flow', 't1', 'f1', { n: 1 }), // replaces f1, keeping its place
      store.delete('flow', 't1', 'f2'),
      store.put('profile', 't2', 'p1', { dcp: 1 }),
    ];
    await written[2];
    const reader = new Database(db, { readonly: true });
    const row = reader.prepare('SELECT body FROM server_records WHERE id = ?').get('f1') as {
      body: string;
    };
    expect(JSON.parse(row.body)).toEqual({ n: 1 });
    await Promise.all(written);
    const rows = reader.prepare('SELECT kind, tenant, id FROM server_records ORDER BY rowid').all();
    expect(rows).toEqual([
      { kind: 'flow', tenant: 't1', id: 'f1' },
      { kind: 'profile', tenant: 't2', id: 'p1' },
    ]);
    reader.close();
    await store.close();
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const reopened = new RecordStore(db);
    expect(reopened.all('flow')).toEqual([{ tenant: 't1', id: 'f1', value: { n: 1 } }]);
    await reopened.close();
  });

  it('close waits for the writes still in flight', async () => {
    const db = file();
    const store = new RecordStore(db);
    for (let i = 0; i < 50; i++) void store.put('execution', 't', `e${i}`, { i });
    await store.close();
    const reopened = new RecordStore(db);
    expect(reopened.all('execution')).toHaveLength(50);
    await reopened.close();
    await expect(store.put('flow', 't', 'late', {})).rejects.toThrow(/closed/);
  });

  it('a write that cannot be committed rejects with the reason, and later writes still go through', async () => {
    const db = file();
    const store = new RecordStore(db);
    await store.put('flow', 't', 'before', {});
    // Another connection takes the table away: the writer's next commit fails.
    const other = new Database(db);
    other.exec('ALTER TABLE server_records RENAME TO gone');
    await expect(store.put('flow', 't', 'lost', {})).rejects.toThrow(
      /could not store the server’s records: .*server_records/,
    );
    other.exec('ALTER TABLE gone RENAME TO server_records');
    other.close();
    await store.put('flow', 't', 'after', {});
    expect(store.all('flow').map((r) => r.id)).toEqual(['before', 'after']);
    await store.close();
  });

  it('an in-memory database is written at once', async () => {
    const store = new RecordStore(':memory:');
    await store.put('flow', 't', 'f', { a: 1 });
    expect(store.all('flow')).toEqual([{ tenant: 't', id: 'f', value: { a: 1 } }]);
    await store.close();
  });
});
