import path from 'node:path';
/**
 * The part of node-postgres (`pg`) the PostgreSQL store and history use. Typing against
 * this subset keeps `pg` optional and fakes easy; a `pg.Pool` provides it.
 */
export interface PgQuery {
  /** Naming a query makes pg prepare it once per connection. */
  name?: string;
  text: string;
  values?: unknown[];
}

/** Something that runs queries: a pool or one checked-out client. */
export interface PgQueryable {
  query(query: PgQuery): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
}

/** A client checked out of the pool, for transactions. */
export interface PgPoolClient extends PgQueryable {
  release(error?: Error | boolean): void;
}

/** A `pg.Pool`-like connection pool. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
}

/**
 * Creates a `pg.Pool` for `url` and checks it can connect, so a wrong URL fails at open
 * time. With `schema`, every connection works in that schema (created if missing). Idle-client errors (a server restart) are absorbed; the next query reconnects.
 */
export async function connectPostgres(
  url: string,
  max = 4,
  schema?: string,
  socket?: string,
): Promise<PgPool> {
  const { default: pg } = await import('pg');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`not a schema name: ${schema}`);
  // Through a unix socket (`<dir>/.s.PGSQL.<port>`): the URL's user, password and database,
  // with the socket's folder as host (a connection string would win over a separate host).
  const target = socket === undefined ? { connectionString: url } : socketTarget(url, socket);
  const pool = new pg.Pool({
    ...target,
    max,
    connectionTimeoutMillis: 5000,
    // A tenant's namespace: every unqualified table (warmflow_kv, warmflow_rows) is its schema's.
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    const exists =
      schema !== undefined &&
      (
        await client.query({
          text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
          values: [schema],
        })
      ).rowCount === 1;
    // A server's tenant role has its schema made for it and may not create one: ask first.
    if (schema !== undefined && !exists) {
      // Several threads open the same tenant's store at once, and IF NOT EXISTS does not
      // serialise them: the loser's duplicate-key error means the schema is there.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        if (code !== '23505' && code !== '42P06') throw error;
      });
    }
    client.release();
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}

/** Runs `fn` in a transaction on one client; rolls back and rethrows on error. */
export async function inTransaction<T>(
  pool: PgPool,
  fn: (client: PgQueryable) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query({ text: 'BEGIN' });
    const result = await fn(client);
    await client.query({ text: 'COMMIT' });
    client.release();
    return result;
  } catch (error) {
    await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

function socketTarget(url: string, socket: string) {
  const parsed = new URL(url);
  const port = Number(/\.s\.PGSQL\.(\d+)$/.exec(socket)?.[1] ?? 5432);
  return {
    host: path.dirname(socket),
    port,
    user: decodeURIComponent(parsed.username) || 'postgres',
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
  };
}
