import { WarmflowError } from '../../errors.js';
import type {
  FunctionObservation,
  HistoryStore,
  ObservationFilter,
  RunFilter,
  RunRecord,
} from '../history-store.js';
import { inTransaction, type PgPool } from '../../stores/postgres/postgres-pool.js';
import {
  OBSERVATION_FILTERS,
  RUN_FILTERS,
  observationRow,
  runRow,
  safeLimit,
  whereClause,
} from '../history-rows.js';

/** Configuration of a {@link PostgresHistory}. */
export interface PostgresHistoryConfig {
  /** A pool (see `connectPostgres`); ended by `close()`. The schema must be migrated (`migratePostgres`). */
  pool: PgPool;
}

/**
 * Run history in PostgreSQL (`warmflow history --history postgres://…`), for several
 * machines or a server sharing one history. Tables are prefixed `warmflow_history_`;
 * documents are `jsonb`, so they can be queried in SQL. Open with `openHistory(url)`,
 * which runs migrations first.
 */
export class PostgresHistory implements HistoryStore {
  readonly #config: Readonly<PostgresHistoryConfig>;
  #closed = false;

  constructor(config: PostgresHistoryConfig) {
    this.#config = Object.freeze({ ...config });
  }

  async record(run: RunRecord, observations: FunctionObservation[]): Promise<void> {
    this.#open();
    const row = runRow(run);
    const obs = observations.map((o) => observationRow(run, o));
    await inTransaction(this.#config.pool, async (client) => {
      // Re-recording an execution replaces it, so a retried write never duplicates a run.
      const key = [run.tenant, run.execution_id];
      await client.query({
        text: 'DELETE FROM warmflow_history_runs WHERE tenant = $1 AND execution_id = $2',
        values: key,
      });
      await client.query({
        text: 'DELETE FROM warmflow_history_observations WHERE tenant = $1 AND execution_id = $2',
        values: key,
      });
      await client.query({
        name: 'wf_history_insert_run',
        text: `INSERT INTO warmflow_history_runs
               (tenant, execution_id, template, template_fingerprint, recorded_at, sort_at, outcome, document)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
        values: [
          row.tenant,
          row.execution_id,
          row.template,
          row.template_fingerprint,
          row.recorded_at,
          row.sort_at,
          row.outcome,
          row.document,
        ],
      });
      if (obs.length === 0) return;
      // One multi-row insert for all observations of the run.
      await client.query({
        name: 'wf_history_insert_observations',
        text: `INSERT INTO warmflow_history_observations
               (tenant, execution_id, template, node_id, function_fingerprint, sort_at, document, template_fingerprint)
               SELECT $1, $2, t.template, t.node_id, t.fp, t.sort_at, t.doc::jsonb, $8
               FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
                 AS t(template, node_id, fp, sort_at, doc, i) ORDER BY t.i`,
        values: [
          run.tenant,
          run.execution_id,
          obs.map((o) => o.template),
          obs.map((o) => o.node_id),
          obs.map((o) => o.function_fingerprint),
          obs.map((o) => o.sort_at),
          obs.map((o) => o.document),
          run.template_fingerprint,
        ],
      });
    });
  }

  async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
    this.#open();
    const where = whereClause(filter, RUN_FILTERS, (i) => `$${i}`);
    const limit = safeLimit(filter.limit);
    const { rows } = await this.#config.pool.query({
      text: `SELECT document FROM warmflow_history_runs${where.sql} ORDER BY sort_at DESC, seq DESC${limit === undefined ? '' : ` LIMIT ${limit}`}`,
      values: where.values,
    });
    return rows.map((row) => row.document as RunRecord);
  }

  async run(executionId: string, tenant?: string): Promise<RunRecord | undefined> {
    this.#open();
    const where = whereClause(
      { execution_id: executionId, tenant },
      ['execution_id', 'tenant'],
      (i) => `$${i}`,
    );
    const { rows } = await this.#config.pool.query({
      text: `SELECT document FROM warmflow_history_runs${where.sql} ORDER BY sort_at DESC, seq DESC LIMIT 1`,
      values: where.values,
    });
    return rows[0]?.document as RunRecord | undefined;
  }

  async observations(filter: ObservationFilter): Promise<FunctionObservation[]> {
    this.#open();
    const where = whereClause(filter, OBSERVATION_FILTERS, (i) => `$${i}`);
    const limit = safeLimit(filter.limit);
    const { rows } = await this.#config.pool.query({
      text: `SELECT document FROM warmflow_history_observations${where.sql} ORDER BY sort_at DESC, seq DESC${limit === undefined ? '' : ` LIMIT ${limit}`}`,
      values: where.values,
    });
    return rows.map((row) => row.document as FunctionObservation);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#config.pool.end();
  }

  #open(): void {
    if (this.#closed) throw new WarmflowError('E_HISTORY_CLOSED', 'history used after close()');
  }
}
