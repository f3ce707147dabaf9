import { WarmflowError } from '../../errors.js';
import type {
  FunctionObservation,
  HistoryStore,
  ObservationFilter,
  RunFilter,
  RunRecord,
} from '../history-store.js';
import type { SqliteDatabase } from '../../stores/sqlite/sqlite-database.js';
import {
  OBSERVATION_FILTERS,
  RUN_FILTERS,
  observationRow,
  runRow,
  safeLimit,
  whereClause,
} from '../history-rows.js';
import { migrateSqlite } from './sqlite-migrations.js';

/** Configuration of a {@link SqliteHistory}. */
export interface SqliteHistoryConfig {
  /** An open connection (see `openSqliteDatabase`); closed by `close()`. */
  database: SqliteDatabase;
}

/**
 * Run history in SQLite, the embedded default (`~/.warmflow/warmflow.db`, or under
 * `WARMFLOW_HOME`). Its tables are prefixed `history_`, so the file can be shared with
 * other parts of warmflow; migrations run on open.
 *
 * ```ts
 * const history = await openHistory(); // SqliteHistory at homeDatabasePath()
 * await history.record(run, observationsFromStatus(run));
 * ```
 */
export class SqliteHistory implements HistoryStore {
  readonly #config: Readonly<SqliteHistoryConfig>;
  readonly #record: (run: RunRecord, observations: FunctionObservation[]) => void;
  #closed = false;

  constructor(config: SqliteHistoryConfig) {
    this.#config = Object.freeze({ ...config });
    const db = config.database;
    migrateSqlite(db);
    const deleteRun = db.prepare('DELETE FROM history_runs WHERE tenant = ? AND execution_id = ?');
    const deleteObservations = db.prepare(
      'DELETE FROM history_observations WHERE tenant = ? AND execution_id = ?',
    );
    const insertRun = db.prepare(
      `INSERT INTO history_runs (tenant, execution_id, template, template_fingerprint, recorded_at, sort_at, outcome, document)
       VALUES (@tenant, @execution_id, @template, @template_fingerprint, @recorded_at, @sort_at, @outcome, @document)`,
    );
    const insertObservation = db.prepare(
      `INSERT INTO history_observations (tenant, execution_id, template, template_fingerprint, node_id, function_fingerprint, sort_at, document)
       VALUES (@tenant, @execution_id, @template, @template_fingerprint, @node_id, @function_fingerprint, @sort_at, @document)`,
    );
    // Re-recording an execution replaces it, so a retried write never duplicates a run.
    this.#record = db.transaction((run: RunRecord, observations: FunctionObservation[]) => {
      deleteRun.run(run.tenant, run.execution_id);
      deleteObservations.run(run.tenant, run.execution_id);
      insertRun.run(runRow(run));
      for (const o of observations) insertObservation.run(observationRow(run, o));
    });
  }

  async record(run: RunRecord, observations: FunctionObservation[]): Promise<void> {
    this.#open();
    this.#record(run, observations);
  }

  async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
    this.#open();
    const where = whereClause(filter, RUN_FILTERS, () => '?');
    const limit = safeLimit(filter.limit);
    const sql = `SELECT document FROM history_runs${where.sql} ORDER BY sort_at DESC, seq DESC${limit === undefined ? '' : ` LIMIT ${limit}`}`;
    const rows = this.#config.database.prepare(sql).all(...where.values) as Array<{
      document: string;
    }>;
    return rows.map((row) => JSON.parse(row.document) as RunRecord);
  }

  async run(executionId: string, tenant?: string): Promise<RunRecord | undefined> {
    this.#open();
    const where = whereClause(
      { execution_id: executionId, tenant },
      ['execution_id', 'tenant'],
      () => '?',
    );
    const row = this.#config.database
      .prepare(
        `SELECT document FROM history_runs${where.sql} ORDER BY sort_at DESC, seq DESC LIMIT 1`,
      )
      .get(...where.values) as { document: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.document) as RunRecord);
  }

  async observations(filter: ObservationFilter): Promise<FunctionObservation[]> {
    this.#open();
    const where = whereClause(filter, OBSERVATION_FILTERS, () => '?');
    const limit = safeLimit(filter.limit);
    const sql = `SELECT document FROM history_observations${where.sql} ORDER BY sort_at DESC, seq DESC${limit === undefined ? '' : ` LIMIT ${limit}`}`;
    const rows = this.#config.database.prepare(sql).all(...where.values) as Array<{
      document: string;
    }>;
    return rows.map((row) => JSON.parse(row.document) as FunctionObservation);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#config.database.close();
  }

  #open(): void {
    if (this.#closed) throw new WarmflowError('E_HISTORY_CLOSED', 'history used after close()');
  }
}
