import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import { homeDatabasePath, ownerOnly } from '../home.js';
import type { HistoryStore } from './history-store.js';
import { openSqliteDatabase } from '../stores/sqlite/sqlite-database.js';
import { connectPostgres } from '../stores/postgres/postgres-pool.js';
import { redactUrl } from '../stores/open-store.js';
import { SqliteHistory } from './sqlite/sqlite-history.js';
import { PostgresHistory } from './postgres/postgres-history.js';
import { migratePostgres } from './postgres/postgres-migrations.js';

/**
 * Opens run history and brings its schema up to date.
 * - `undefined` → SQLite at `homeDatabasePath()` (`$WARMFLOW_HOME/warmflow.db`, default `~/.warmflow`);
 * - `postgres://…` or `postgresql://…` → PostgreSQL;
 * - anything else → a SQLite file at that path (created if missing).
 *
 * ```ts
 * const history = await openHistory(process.env.WARMFLOW_HISTORY);
 * const last = await history.runs({ template: 'clicks', limit: 5 });
 * ```
 */
export async function openHistory(location?: string): Promise<HistoryStore> {
  if (location !== undefined && /^postgres(ql)?:\/\//i.test(location)) {
    let pool;
    try {
      pool = await connectPostgres(location, 2);
      await migratePostgres(pool);
    } catch (cause) {
      await pool?.end().catch(() => undefined);
      throw new WarmflowError(
        'E_HISTORY',
        `cannot open history at ${redactUrl(location)}: ${(cause as Error).message}`,
        {
          cause,
          hint: 'check that PostgreSQL is running and the URL (user, database) is right',
        },
      );
    }
    return new PostgresHistory({ pool });
  }
  const file =
    location === undefined || location === '' ? homeDatabasePath() : path.resolve(location);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const database = await openSqliteDatabase(file);
    // Run records name inputs and hold measured usage: the owner's only.
    ownerOnly(file);
    return new SqliteHistory({ database });
  } catch (cause) {
    throw new WarmflowError(
      'E_HISTORY',
      `cannot open history at ${file}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'check that the folder is writable (set WARMFLOW_HOME to move it) and the file is a SQLite database',
      },
    );
  }
}
