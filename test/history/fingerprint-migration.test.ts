import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openHistory } from '../../src/history/open-history.js';
import { observationsFromStatus } from '../../src/history/observations-from-status.js';
import { SQLITE_HISTORY_MIGRATIONS } from '../../src/history/sqlite/sqlite-migrations.js';
import { openSqliteDatabase } from '../../src/stores/sqlite/sqlite-database.js';
import { makeRun } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-history-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite history schema 2', () => {
  it('gives observations recorded under schema 1 their run’s template fingerprint', async () => {
    const file = path.join(dir, 'old.db');
    // A history written before observations kept the template fingerprint.
    const db = await openSqliteDatabase(file);
    db.exec(SQLITE_HISTORY_MIGRATIONS[0].sql);
    db.exec(
      'CREATE TABLE history_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO history_migrations (version, applied_at) VALUES (1, ?)').run(
      new Date().toISOString(),
    );
    const run = makeRun('old-1', 't', 'clicks', '2026-01-01T10:00:00.000Z');
    db.prepare(
      `INSERT INTO history_runs (tenant, execution_id, template, template_fingerprint, recorded_at, sort_at, outcome, document)
       VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?)`,
    ).run(
      't',
      'old-1',
      'clicks',
      'fp-clicks',
      run.recorded_at,
      run.recorded_at,
      JSON.stringify(run),
    );
    for (const o of observationsFromStatus(run)) {
      const { template_fingerprint: _dropped, ...old } = o;
      db.prepare(
        `INSERT INTO history_observations (tenant, execution_id, template, node_id, function_fingerprint, sort_at, document)
         VALUES ('t', 'old-1', 'clicks', ?, NULL, ?, ?)`,
      ).run(o.node_id, o.recorded_at, JSON.stringify(old));
    }
    db.close();

    const history = await openHistory(file);
    try {
      const obs = await history.observations({ tenant: 't', template_fingerprint: 'fp-clicks' });
      expect(obs.map((o) => o.node_id).sort()).toEqual(['count', 'parse']);
      expect(await history.observations({ tenant: 't', template_fingerprint: 'fp-x' })).toEqual([]);
      expect(
        (await history.runs({ tenant: 't', template_fingerprint: 'fp-clicks' })).map(
          (r) => r.execution_id,
        ),
      ).toEqual(['old-1']);
    } finally {
      await history.close();
    }
  });
});
