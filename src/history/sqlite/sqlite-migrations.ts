import type { SqliteDatabase } from '../../stores/sqlite/sqlite-database.js';

/**
 * Schema versions of the SQLite history, applied in order on open. Append a new
 * entry to change the schema; never edit one that has shipped. `PRAGMA user_version`
 * is not used because the database file is shared with other parts of warmflow.
 */
export const SQLITE_HISTORY_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE history_runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        template TEXT NOT NULL,
        template_fingerprint TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        sort_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        document TEXT NOT NULL,
        UNIQUE (tenant, execution_id)
      );
      CREATE INDEX history_runs_template ON history_runs (tenant, template, sort_at);
      CREATE INDEX history_runs_execution ON history_runs (execution_id);
      CREATE TABLE history_observations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        template TEXT NOT NULL,
        node_id TEXT NOT NULL,
        function_fingerprint TEXT,
        sort_at TEXT NOT NULL,
        document TEXT NOT NULL
      );
      CREATE INDEX history_observations_node ON history_observations (template, node_id, sort_at);
      CREATE INDEX history_observations_fingerprint ON history_observations (function_fingerprint, sort_at);
      CREATE INDEX history_observations_run ON history_observations (tenant, execution_id);
    `,
  },
  {
    // Observations are matched by what their flow is (its template fingerprint), not its name.
    version: 2,
    sql: `
      ALTER TABLE history_observations ADD COLUMN template_fingerprint TEXT;
      UPDATE history_observations SET template_fingerprint = (
        SELECT r.template_fingerprint FROM history_runs r
        WHERE r.tenant = history_observations.tenant AND r.execution_id = history_observations.execution_id);
      CREATE INDEX history_observations_shape ON history_observations (template_fingerprint, node_id, sort_at);
      CREATE INDEX history_runs_shape ON history_runs (tenant, template_fingerprint, sort_at);
    `,
  },
];

/** Brings the history tables to the newest version, each step in its own transaction. */
export function migrateSqlite(db: SqliteDatabase): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS history_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  // BEGIN IMMEDIATE takes the write lock first, so two processes opening a fresh file
  // at once apply each migration exactly once (busy_timeout makes the second wait).
  const step = (version: number, sql: string): void => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const done = db.prepare('SELECT 1 FROM history_migrations WHERE version = ?').get(version);
      if (done === undefined) {
        db.exec(sql);
        db.prepare('INSERT INTO history_migrations (version, applied_at) VALUES (?, ?)').run(
          version,
          new Date().toISOString(),
        );
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  for (const migration of SQLITE_HISTORY_MIGRATIONS) step(migration.version, migration.sql);
  return SQLITE_HISTORY_MIGRATIONS.at(-1)?.version ?? 0;
}
