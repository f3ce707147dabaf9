import Database from 'better-sqlite3';
import { enableWal } from '../stores/sqlite/sqlite-database.js';
import { ownerOnly } from '../home.js';

/** What the server keeps across restarts: flows, profiles, executions. */
export type RecordKind = 'flow' | 'profile' | 'execution';

/**
 * The server's records in the home database (table `server_records`), so a restart —
 * even a `kill -9` — forgets no flow, profile or run: what was accepted is written
 * before the answer goes out. Values are stored as JSON, in the order they were made.
 */
export class RecordStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    this.#db = new Database(file);
    enableWal(this.#db);
    if (file !== ':memory:') ownerOnly(file);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS server_records (
      kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
      PRIMARY KEY (kind, tenant, id))`);
  }

  /** Inserts or replaces one record (keeping its place in the order). */
  put(kind: RecordKind, tenant: string, id: string, value: unknown): void {
    this.#db
      .prepare(
        `INSERT INTO server_records (kind, tenant, id, body) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, tenant, id) DO UPDATE SET body = excluded.body`,
      )
      .run(kind, tenant, id, JSON.stringify(value));
  }

  delete(kind: RecordKind, tenant: string, id: string): void {
    this.#db
      .prepare('DELETE FROM server_records WHERE kind = ? AND tenant = ? AND id = ?')
      .run(kind, tenant, id);
  }

  /** Every record of a kind, oldest first. */
  all<T>(kind: RecordKind): Array<{ tenant: string; id: string; value: T }> {
    const rows = this.#db
      .prepare('SELECT tenant, id, body FROM server_records WHERE kind = ? ORDER BY rowid')
      .all(kind) as Array<{ tenant: string; id: string; body: string }>;
    return rows.map((row) => ({
      tenant: row.tenant,
      id: row.id,
      value: JSON.parse(row.body) as T,
    }));
  }

  close(): void {
    this.#db.close();
  }
}
