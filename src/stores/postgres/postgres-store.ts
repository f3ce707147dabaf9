import type { DataStore, StoreEntries } from '../store.js';
import type { EpochCommit, EpochCommitter } from '../epoch-commit.js';
import { StoreError } from '../store-error.js';
import { encodeEntries, encodeValue } from '../json-value.js';
import { inTransaction, type PgPool, type PgQuery, type PgQueryable } from './postgres-pool.js';
import { escapePgText as esc, unescapePgText as unesc } from './pg-text.js';

/** Configuration of a {@link PostgresStore}. */
export interface PostgresStoreConfig {
  /** Instance name from the flow's store catalogue. */
  name: string;
  /** A pool (see `connectPostgres`); the store ends it on `close()`. */
  pool: PgPool;
  /** Rows per page of `entries`/`readAll`; default 1000. */
  pageSize?: number;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS warmflow_kv (
     ns text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (ns, key))`,
  `CREATE TABLE IF NOT EXISTS warmflow_rows (
     seq bigserial PRIMARY KEY, tbl text NOT NULL, value jsonb NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS warmflow_rows_tbl ON warmflow_rows (tbl, seq)',
  'CREATE TABLE IF NOT EXISTS warmflow_epochs (writer text PRIMARY KEY, epoch bigint NOT NULL)',
];

const Q = {
  get: 'SELECT value FROM warmflow_kv WHERE ns = $1 AND key = $2',
  getMany: 'SELECT key, value FROM warmflow_kv WHERE ns = $1 AND key = ANY($2::text[])',
  // One statement for the whole batch: unnest turns the two arrays into rows.
  upsert: `INSERT INTO warmflow_kv (ns, key, value)
           SELECT $1, k, v::jsonb FROM unnest($2::text[], $3::text[]) AS t(k, v)
           ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value`,
  deleteMany: 'DELETE FROM warmflow_kv WHERE ns = $1 AND key = ANY($2::text[])',
  count: 'SELECT count(*)::int AS n FROM warmflow_kv WHERE ns = $1',
  firstPage: 'SELECT key, value FROM warmflow_kv WHERE ns = $1 ORDER BY key LIMIT $2',
  nextPage: 'SELECT key, value FROM warmflow_kv WHERE ns = $1 AND key > $2 ORDER BY key LIMIT $3',
  // ORDER BY ordinality makes the serial follow the order of the batch.
  append: `INSERT INTO warmflow_rows (tbl, value)
           SELECT $1, v::jsonb FROM unnest($2::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`,
  rows: 'SELECT seq, value FROM warmflow_rows WHERE tbl = $1 AND seq > $2 ORDER BY seq LIMIT $3',
  dropNs: 'DELETE FROM warmflow_kv WHERE ns = $1',
  dropTable: 'DELETE FROM warmflow_rows WHERE tbl = $1',
  epoch: 'SELECT epoch::int AS epoch FROM warmflow_epochs WHERE writer = $1',
  // The row lock taken here serialises two committers of one writer until the commit.
  epochForUpdate: 'SELECT epoch::int AS epoch FROM warmflow_epochs WHERE writer = $1 FOR UPDATE',
  mark: `INSERT INTO warmflow_epochs (writer, epoch) VALUES ($1, $2)
         ON CONFLICT (writer) DO UPDATE SET epoch = EXCLUDED.epoch`,
} as const;

/**
 * A data store in PostgreSQL: every namespace in table `warmflow_kv (ns, key, value jsonb)`,
 * every append-only table in `warmflow_rows`, both created on first use. Names and keys
 * are bound parameters (NUL escaped, since `text` cannot hold it), never spliced into SQL.
 * `putMany` is one upsert over `unnest` arrays (plus one delete for `undefined` values, in
 * the same transaction); `append` one multi-row insert. Queries are named, so pg
 * prepares each once per connection.
 *
 * Limitation: `jsonb` refuses the NUL character inside string values (`E_STORE_VALUE`).
 *
 * ```ts
 * const store = new PostgresStore({ name: 'pg', pool: await connectPostgres('postgres://localhost/app') });
 * ```
 */
export class PostgresStore implements DataStore, EpochCommitter {
  readonly kind = 'postgres' as const;
  readonly #config: Readonly<Required<PostgresStoreConfig>>;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(config: PostgresStoreConfig) {
    this.#config = Object.freeze({ pageSize: 1000, ...config });
  }

  get name(): string {
    return this.#config.name;
  }

  async get(namespace: string, key: string): Promise<unknown> {
    const { rows } = await this.#query('get', 'get', [esc(namespace), esc(key)]);
    return rows[0]?.value;
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.#query('getMany', 'getMany', [
      esc(namespace),
      [...new Set(keys.map(esc))],
    ]);
    const found = new Map<string, unknown>(
      (rows as Array<{ key: string; value: unknown }>).map((row) => [row.key, row.value]),
    );
    return keys.map((key) => found.get(esc(key)));
  }

  async put(namespace: string, key: string, value: unknown): Promise<void> {
    await this.putMany(namespace, [[key, value]]);
  }

  async putMany(namespace: string, entries: StoreEntries): Promise<void> {
    this.#open();
    const encoded = encodeEntries(this, namespace, entries);
    const keys = encoded.keys.map(esc);
    const texts = encoded.texts;
    const deletes = encoded.deletes.map(esc);
    const ns = esc(namespace);
    if (deletes.length === 0 && keys.length > 0) {
      await this.#query('putMany', 'upsert', [ns, keys, texts]);
    } else if (keys.length === 0 && deletes.length > 0) {
      await this.#query('putMany', 'deleteMany', [ns, deletes]);
    } else if (keys.length > 0) {
      await this.#transaction('putMany', async (client) => {
        await client.query({ name: 'wf_upsert', text: Q.upsert, values: [ns, keys, texts] });
        await client.query({ name: 'wf_deleteMany', text: Q.deleteMany, values: [ns, deletes] });
      });
    }
  }

  async commitEpoch(commit: EpochCommit): Promise<boolean> {
    this.#open();
    const puts = commit.puts.map(({ namespace, entries }) => {
      const { keys, texts, deletes } = encodeEntries(this, namespace, entries);
      return { ns: esc(namespace), keys: keys.map(esc), texts, deletes: deletes.map(esc) };
    });
    const appends = commit.appends.map(({ table, records }) => ({
      tbl: esc(table),
      texts: records.map(
        (r, i) => encodeValue(this, `record ${i} of table "${table}"`, r) ?? 'null',
      ),
    }));
    let written = false;
    await this.#transaction('commitEpoch', async (client) => {
      const { rows } = await client.query({
        name: 'wf_epochForUpdate',
        text: Q.epochForUpdate,
        values: [commit.writer],
      });
      const at = rows[0]?.epoch as number | undefined;
      if (at !== undefined && at >= commit.epoch) return;
      for (const p of puts) {
        if (p.keys.length > 0)
          await client.query({
            name: 'wf_upsert',
            text: Q.upsert,
            values: [p.ns, p.keys, p.texts],
          });
        if (p.deletes.length > 0)
          await client.query({
            name: 'wf_deleteMany',
            text: Q.deleteMany,
            values: [p.ns, p.deletes],
          });
      }
      for (const a of appends)
        if (a.texts.length > 0)
          await client.query({ name: 'wf_append', text: Q.append, values: [a.tbl, a.texts] });
      await client.query({ name: 'wf_mark', text: Q.mark, values: [commit.writer, commit.epoch] });
      written = true;
    });
    return written;
  }

  async committedEpoch(writer: string): Promise<number> {
    const { rows } = await this.#query('committedEpoch', 'epoch', [writer]);
    return (rows[0]?.epoch as number | undefined) ?? -1;
  }

  async delete(namespace: string, key: string): Promise<void> {
    await this.#query('delete', 'deleteMany', [esc(namespace), [esc(key)]]);
  }

  async *entries(namespace: string): AsyncIterable<[string, unknown]> {
    const ns = esc(namespace);
    const size = this.#config.pageSize;
    let page = (await this.#query('entries', 'firstPage', [ns, size])).rows as Array<{
      key: string;
      value: unknown;
    }>;
    for (;;) {
      for (const row of page) yield [unesc(row.key), row.value];
      if (page.length < size) return;
      page = (await this.#query('entries', 'nextPage', [ns, page[page.length - 1].key, size]))
        .rows as typeof page;
    }
  }

  async count(namespace: string): Promise<number> {
    const { rows } = await this.#query('count', 'count', [esc(namespace)]);
    return rows[0].n as number;
  }

  async append(table: string, records: readonly unknown[]): Promise<void> {
    this.#open();
    const texts = records.map(
      (r, i) => encodeValue(this, `record ${i} of table "${table}"`, r) ?? 'null',
    );
    if (texts.length > 0) await this.#query('append', 'append', [esc(table), texts]);
  }

  async *readAll(table: string): AsyncIterable<unknown> {
    const tbl = esc(table);
    const size = this.#config.pageSize;
    // seq arrives as a string (bigint); it is only passed back, never computed with.
    let after = '0';
    for (;;) {
      const { rows } = await this.#query('readAll', 'rows', [tbl, after, size]);
      for (const row of rows as Array<{ seq: string; value: unknown }>) yield row.value;
      if (rows.length < size) return;
      after = (rows[rows.length - 1] as { seq: string }).seq;
    }
  }

  async drop(name: string): Promise<void> {
    await this.#transaction('drop', async (client) => {
      await client.query({ text: Q.dropNs, values: [esc(name)] });
      await client.query({ text: Q.dropTable, values: [esc(name)] });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    await this.#config.pool.end();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('E_STORE_CLOSED', this, 'used after close()');
  }

  /** Creates the tables once per store object; concurrent openers serialise on an advisory lock. */
  #schema(): Promise<void> {
    this.#ready ??= inTransaction(this.#config.pool, async (client) => {
      await client.query({
        text: "SELECT pg_advisory_xact_lock(hashtext('warmflow_stores_schema'))",
      });
      for (const text of SCHEMA) await client.query({ text });
    }).catch((error: unknown) => {
      this.#ready = undefined; // let the next call retry, e.g. after the server comes back
      throw error;
    });
    return this.#ready;
  }

  async #query(
    op: string,
    q: keyof typeof Q,
    values: unknown[],
  ): Promise<{ rows: Array<Record<string, unknown>> }> {
    return this.#run(op, async () => {
      const query: PgQuery = { name: `wf_${q}`, text: Q[q], values };
      return this.#config.pool.query(query);
    });
  }

  async #transaction(op: string, fn: (client: PgQueryable) => Promise<void>): Promise<void> {
    await this.#run(op, () => inTransaction(this.#config.pool, fn));
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.#open();
    try {
      await this.#schema();
      return await fn();
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      // 22P05: jsonb cannot represent \u0000 in a string.
      if (code === '22P05' || code === '22P02') {
        throw new StoreError(
          'E_STORE_VALUE',
          this,
          `${op}: PostgreSQL refused a value: ${(cause as Error).message}`,
          {
            cause,
            hint: 'jsonb cannot hold the NUL character (\\u0000) inside strings',
          },
        );
      }
      throw new StoreError('E_STORE', this, `${op} failed: ${(cause as Error).message}`, { cause });
    }
  }
}
