import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The part of better-sqlite3 the SQLite store and the SQLite history use. Typing
 * against this subset keeps the driver swappable and fakes easy; a
 * `better-sqlite3` `Database` satisfies it as is.
 */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** A better-sqlite3-like connection; see {@link SqliteStatement}. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(source: string): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  close(): unknown;
}

/** How long an open waits for another connection's lock before it fails (ms). */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Puts a connection in WAL mode, waiting up to `timeoutMs` for other connections. The
 * switch from a rollback journal fails at once with SQLITE_BUSY, without SQLite's busy
 * handler, while another connection writes or switches too (two threads or processes
 * opening a new database together): it is retried with a short blocking back-off. Sets the
 * connection's busy timeout as well.
 */
export function enableWal(
  db: { pragma(source: string): unknown },
  timeoutMs = BUSY_TIMEOUT_MS,
): void {
  db.pragma(`busy_timeout = ${timeoutMs}`);
  const deadline = performance.now() + timeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw error;
      const left = deadline - performance.now();
      if (left <= 0) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(pause, left));
    }
  }
}

/**
 * Opens a better-sqlite3 database at `file` (created if missing) in WAL mode: readers do
 * not block the writer, and several processes (node workers) can share one file.
 * The driver is imported lazily so that code not using SQLite never loads the native module.
 */
export async function openSqliteDatabase(file: string): Promise<SqliteDatabase> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  enableWal(db);
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  return db as unknown as SqliteDatabase;
}

const requireDriver = createRequire(import.meta.url);

/**
 * The better-sqlite3 constructor, loaded on first call: for the embedded stores opened
 * synchronously (tenancy, pool state), so that importing warmflow never loads the native
 * module until one of them is really opened.
 */
export function betterSqlite3(): typeof BetterSqlite3 {
  return requireDriver('better-sqlite3') as typeof BetterSqlite3;
}
