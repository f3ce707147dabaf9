import type { PgPool } from '../../stores/postgres/postgres-pool.js';
import { inTransaction } from '../../stores/postgres/postgres-pool.js';

/**
 * Schema versions of the PostgreSQL history, applied in order on open. Append a new
 * entry to change the schema; never edit one that has shipped.
 */
export const POSTGRES_HISTORY_MIGRATIONS: ReadonlyArray<{ version: number; statements: string[] }> =
  [
    {
      version: 1,
      statements: [
        `CREATE TABLE warmflow_history_runs (
         seq bigserial PRIMARY KEY,
         tenant text NOT NULL,
         execution_id text NOT NULL,
         template text NOT NULL,
         template_fingerprint text NOT NULL,
         recorded_at text NOT NULL,
         sort_at text NOT NULL,
         outcome text NOT NULL,
         document jsonb NOT NULL,
         UNIQUE (tenant, execution_id))`,
        'CREATE INDEX warmflow_history_runs_template ON warmflow_history_runs (tenant, template, sort_at)',
        'CREATE INDEX warmflow_history_runs_execution ON warmflow_history_runs (execution_id)',
        `CREATE TABLE warmflow_history_observations (
         seq bigserial PRIMARY KEY,
         tenant text NOT NULL,
         execution_id text NOT NULL,
         template text NOT NULL,
         node_id text NOT NULL,
         function_fingerprint text,
         sort_at text NOT NULL,
         document jsonb NOT NULL)`,
        'CREATE INDEX warmflow_history_observations_node ON warmflow_history_observations (template, node_id, sort_at)',
        'CREATE INDEX warmflow_history_observations_fp ON warmflow_history_observations (function_fingerprint, sort_at)',
        'CREATE INDEX warmflow_history_observations_run ON warmflow_history_observations (tenant, execution_id)',
      ],
    },
    {
      // Observations are matched by what their flow is (its template fingerprint), not its name.
      version: 2,
      statements: [
        'ALTER TABLE warmflow_history_observations ADD COLUMN template_fingerprint text',
        `UPDATE warmflow_history_observations o SET template_fingerprint = r.template_fingerprint
         FROM warmflow_history_runs r WHERE r.tenant = o.tenant AND r.execution_id = o.execution_id`,
        'CREATE INDEX warmflow_history_observations_shape ON warmflow_history_observations (template_fingerprint, node_id, sort_at)',
        'CREATE INDEX warmflow_history_runs_shape ON warmflow_history_runs (tenant, template_fingerprint, sort_at)',
      ],
    },
  ];

/**
 * Brings the history tables to the newest version in one transaction, holding an
 * advisory lock so that concurrent openers (CLI, server, workers) migrate once.
 */
export async function migratePostgres(pool: PgPool): Promise<number> {
  await inTransaction(pool, async (client) => {
    await client.query({
      text: "SELECT pg_advisory_xact_lock(hashtext('warmflow_history_schema'))",
    });
    await client.query({
      text: 'CREATE TABLE IF NOT EXISTS warmflow_history_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    });
    const { rows } = await client.query({
      text: 'SELECT version FROM warmflow_history_migrations',
    });
    const done = new Set(rows.map((row) => Number(row.version)));
    for (const migration of POSTGRES_HISTORY_MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const text of migration.statements) await client.query({ text });
      await client.query({
        text: 'INSERT INTO warmflow_history_migrations (version) VALUES ($1)',
        values: [migration.version],
      });
    }
  });
  return POSTGRES_HISTORY_MIGRATIONS.at(-1)?.version ?? 0;
}
