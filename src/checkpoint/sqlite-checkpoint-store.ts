import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { homeDatabasePath, ownerOnly } from '../home.js';
import { openSqliteDatabase, type SqliteDatabase } from '../stores/sqlite/sqlite-database.js';
import type { Checkpoint, CheckpointStore, CheckpointedRun } from './checkpoint-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint_runs (
  run TEXT PRIMARY KEY, request TEXT NOT NULL, pid INTEGER NOT NULL, started_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoint_epochs (
  run TEXT NOT NULL, part INTEGER NOT NULL, checkpoint TEXT NOT NULL, PRIMARY KEY (run, part)
);
CREATE TABLE IF NOT EXISTS checkpoint_state (
  run TEXT NOT NULL, part INTEGER NOT NULL, node TEXT NOT NULL, item TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (run, part, node, item)
) WITHOUT ROWID;
`;

/**
 * {@link CheckpointStore} in SQLite: the home database (`$WARMFLOW_HOME/warmflow.db`) unless
 * another file is given. Tables are prefixed `checkpoint_`.
 *
 * ```ts
 * const checkpoints = await SqliteCheckpointStore.open();
 * const last = await checkpoints.latest(executionId, 0);
 * ```
 */
export class SqliteCheckpointStore implements CheckpointStore {
  readonly #db: SqliteDatabase;
  readonly #save: (
    run: string,
    part: number,
    checkpoint: string,
    changes: Array<[string, string, string | undefined]>,
  ) => void;
  readonly #finish: (run: string) => void;

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(SCHEMA);
    const put = db.prepare(
      'INSERT INTO checkpoint_state (run, part, node, item, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run, part, node, item) DO UPDATE SET value = excluded.value',
    );
    const del = db.prepare(
      'DELETE FROM checkpoint_state WHERE run = ? AND part = ? AND node = ? AND item = ?',
    );
    const mark = db.prepare(
      'INSERT INTO checkpoint_epochs (run, part, checkpoint) VALUES (?, ?, ?) ON CONFLICT (run, part) DO UPDATE SET checkpoint = excluded.checkpoint',
    );
    this.#save = db.transaction(
      (
        run: string,
        part: number,
        checkpoint: string,
        changes: Array<[string, string, string | undefined]>,
      ) => {
        for (const [node, item, text] of changes) {
          if (text === undefined) del.run(run, part, node, item);
          else put.run(run, part, node, item, text);
        }
        mark.run(run, part, checkpoint);
      },
    );
    const forget = [
      db.prepare('DELETE FROM checkpoint_state WHERE run = ?'),
      db.prepare('DELETE FROM checkpoint_epochs WHERE run = ?'),
      db.prepare('DELETE FROM checkpoint_runs WHERE run = ?'),
    ];
    this.#finish = db.transaction((run: string) => {
      for (const statement of forget) statement.run(run);
    });
  }

  /** Opens (creating) the store in `file`, default the home database. */
  static async open(file: string = homeDatabasePath()): Promise<SqliteCheckpointStore> {
    mkdirSync(path.dirname(file), { recursive: true });
    const db = await openSqliteDatabase(file);
    ownerOnly(file);
    return new SqliteCheckpointStore(db);
  }

  async begin(run: string, request: unknown): Promise<void> {
    this.#finish(run);
    this.#db
      .prepare('INSERT INTO checkpoint_runs (run, request, pid, started_at) VALUES (?, ?, ?, ?)')
      .run(run, JSON.stringify(request), process.pid, Date.now());
  }

  async save(
    run: string,
    part: number,
    checkpoint: Checkpoint,
    changes: Record<string, Array<[string, unknown]>>,
  ): Promise<void> {
    const rows: Array<[string, string, string | undefined]> = [];
    for (const [node, items] of Object.entries(changes))
      for (const [item, value] of items)
        rows.push([node, item, value === undefined ? undefined : JSON.stringify(value)]);
    this.#save(run, part, JSON.stringify(checkpoint), rows);
  }

  async latest(
    run: string,
    part: number,
  ): Promise<{ checkpoint: Checkpoint; state: Record<string, Array<[string, unknown]>> } | null> {
    const row = this.#db
      .prepare('SELECT checkpoint FROM checkpoint_epochs WHERE run = ? AND part = ?')
      .get(run, part) as { checkpoint: string } | undefined;
    if (row === undefined) return null;
    const state: Record<string, Array<[string, unknown]>> = {};
    const items = this.#db
      .prepare('SELECT node, item, value FROM checkpoint_state WHERE run = ? AND part = ?')
      .all(run, part) as Array<{ node: string; item: string; value: string }>;
    for (const { node, item, value } of items)
      (state[node] ??= []).push([item, JSON.parse(value) as unknown]);
    return { checkpoint: JSON.parse(row.checkpoint) as Checkpoint, state };
  }

  async unfinished(): Promise<CheckpointedRun[]> {
    const rows = this.#db
      .prepare('SELECT run, request, pid, started_at FROM checkpoint_runs ORDER BY started_at')
      .all() as Array<{ run: string; request: string; pid: number; started_at: number }>;
    return rows.map((r) => ({ ...r, request: JSON.parse(r.request) as unknown }));
  }

  async finish(run: string): Promise<void> {
    this.#finish(run);
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
