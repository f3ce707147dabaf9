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
CREATE TABLE IF NOT EXISTS checkpoint_changes (
  run TEXT NOT NULL, part INTEGER NOT NULL, epoch INTEGER NOT NULL, changes TEXT NOT NULL,
  PRIMARY KEY (run, part, epoch)
);
`;

/**
 * Epochs of state changes a run's part keeps before they are folded into one: restoring reads
 * every row, and a live run records an epoch a second.
 */
export const COMPACT_AFTER_EPOCHS = 64;

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
    epoch: number,
    checkpoint: string,
    changes: string,
  ) => void;
  readonly #finish: (run: string) => void;
  readonly #read: (run: string, part: number, epoch: number) => string[];

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(SCHEMA);
    // The state changes of an epoch are one row (the epoch's payload as it came): a save is
    // one insert however many keys changed; `latest` applies them in epoch order.
    const change = db.prepare(
      'INSERT INTO checkpoint_changes (run, part, epoch, changes) VALUES (?, ?, ?, ?) ON CONFLICT (run, part, epoch) DO UPDATE SET changes = excluded.changes',
    );
    const mark = db.prepare(
      'INSERT INTO checkpoint_epochs (run, part, checkpoint) VALUES (?, ?, ?) ON CONFLICT (run, part) DO UPDATE SET checkpoint = excluded.checkpoint',
    );
    const count = db.prepare(
      'SELECT count(*) AS n FROM checkpoint_changes WHERE run = ? AND part = ? AND epoch <= ?',
    );
    const read = db.prepare(
      'SELECT changes FROM checkpoint_changes WHERE run = ? AND part = ? AND epoch <= ? ORDER BY epoch',
    );
    const drop = db.prepare(
      'DELETE FROM checkpoint_changes WHERE run = ? AND part = ? AND epoch < ?',
    );
    this.#read = (run, part, epoch) =>
      (read.all(run, part, epoch) as Array<{ changes: string }>).map((r) => r.changes);
    this.#save = db.transaction(
      (run: string, part: number, epoch: number, checkpoint: string, changes: string) => {
        change.run(run, part, epoch, changes);
        mark.run(run, part, checkpoint);
        // Many epochs: folded into this one's row (the state as of it), in the same transaction.
        if ((count.get(run, part, epoch) as { n: number }).n > COMPACT_AFTER_EPOCHS) {
          const state = applyChanges(this.#read(run, part, epoch));
          change.run(run, part, epoch, JSON.stringify(state));
          drop.run(run, part, epoch);
        }
      },
    );
    const forget = [
      db.prepare('DELETE FROM checkpoint_changes WHERE run = ?'),
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
    changes: Record<string, Array<[string, unknown]>> | string,
  ): Promise<void> {
    const text = typeof changes === 'string' ? changes : JSON.stringify(changes);
    this.#save(run, part, checkpoint.epoch, JSON.stringify(checkpoint), text);
  }

  async latest(
    run: string,
    part: number,
  ): Promise<{ checkpoint: Checkpoint; state: Record<string, Array<[string, unknown]>> } | null> {
    const row = this.#db
      .prepare('SELECT checkpoint FROM checkpoint_epochs WHERE run = ? AND part = ?')
      .get(run, part) as { checkpoint: string } | undefined;
    if (row === undefined) return null;
    const checkpoint = JSON.parse(row.checkpoint) as Checkpoint;
    // Epochs past the checkpoint cannot be here (a save writes both), but are skipped anyway.
    return { checkpoint, state: applyChanges(this.#read(run, part, checkpoint.epoch)) };
  }

  /** Rows of state changes a run's part holds (at most {@link COMPACT_AFTER_EPOCHS} + 1). */
  changeRows(run: string, part: number): number {
    return (
      this.#db
        .prepare('SELECT count(*) AS n FROM checkpoint_changes WHERE run = ? AND part = ?')
        .get(run, part) as { n: number }
    ).n;
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

/** The state after epochs of changes (JSON, in epoch order): each node's slots, deleted ones gone. */
function applyChanges(epochs: readonly string[]): Record<string, Array<[string, unknown]>> {
  const nodes = new Map<string, Map<string, unknown>>();
  for (const changes of epochs)
    for (const [node, items] of Object.entries(
      JSON.parse(changes) as Record<string, Array<[string, unknown]>>,
    )) {
      let state = nodes.get(node);
      if (state === undefined) nodes.set(node, (state = new Map()));
      // JSON has no undefined: a deleted slot is a pair without its value.
      for (const item of items) {
        if (item.length < 2) state.delete(item[0]);
        else state.set(item[0], item[1]);
      }
    }
  const state: Record<string, Array<[string, unknown]>> = {};
  for (const [node, items] of nodes) state[node] = [...items];
  return state;
}

const shared = new Map<string, Promise<SqliteCheckpointStore>>();
/** The store of the home's database, by `WARMFLOW_HOME` ('' for the default home). */
const homeStores = new Map<string, { file: string; store: Promise<SqliteCheckpointStore> }>();

/**
 * One store per database file for the whole process, opened at its first checkpointed run
 * and closed when the process exits: opening and closing SQLite (schema, WAL) costs a few
 * milliseconds, more than a small run takes. Callers do not close it.
 */
export function sharedCheckpointStore(file?: string): Promise<SqliteCheckpointStore> {
  // The home's database once it is open: every checkpointed run asks, and finding the home
  // (creating it, checking its mode) took ~30 µs of each warm request's path.
  if (file === undefined) {
    const home = process.env.WARMFLOW_HOME ?? '';
    const opened = homeStores.get(home);
    if (opened !== undefined && shared.get(opened.file) === opened.store) return opened.store;
    file = homeDatabasePath();
    const store = sharedCheckpointStore(file);
    homeStores.set(home, { file, store });
    return store;
  }
  let store = shared.get(file);
  if (store === undefined) {
    store = SqliteCheckpointStore.open(file);
    shared.set(file, store);
    store.then(
      (opened) => process.once('exit', () => void opened.close()),
      () => shared.delete(file),
    );
  }
  return store;
}
