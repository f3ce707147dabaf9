import Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { enableWal } from '../stores/sqlite/sqlite-database.js';
import { ownerOnly } from '../home.js';
import { moduleThread } from '../threads/module-thread.js';

/** What the server keeps across restarts: flows, profiles, executions. */
export type RecordKind = 'flow' | 'profile' | 'execution';

/** One write sent to the writer thread; without `body` it deletes. */
export interface RecordWrite {
  seq: number;
  kind: RecordKind;
  tenant: string;
  id: string;
  body?: string;
}

/** The writer thread's answer for a batch: every write up to `done` (or `failed`) is settled. */
export type WriterAnswer = { done: number } | { failed: number; message: string };

interface Pending {
  seq: number;
  written: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The server's records in the home database (table `server_records`), so a restart —
 * even a `kill -9` — forgets no flow, profile or run: a route answers only once what it
 * accepted is committed (each write resolves then). Values are stored as JSON, in the order
 * they were made.
 *
 * Writes go to a thread of their own ({@link ./record-writer.ts}) with its own connection:
 * committing a megabyte flow took 5-12 ms, and every ~4 MB SQLite's checkpoint of its log
 * took 25 ms more, all on the event loop that answers every tenant. Here they cost the copy
 * of the JSON text to the thread. An in-memory database (tests) cannot be shared between
 * connections, so it is written synchronously.
 */
export class RecordStore {
  readonly #db: Database.Database;
  readonly #file: string;
  #writer: Worker | undefined;
  #seq = 0;
  readonly #pending: Pending[] = [];
  #closed = false;

  constructor(file: string) {
    this.#file = file;
    this.#db = new Database(file);
    enableWal(this.#db);
    if (file !== ':memory:') ownerOnly(file);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS server_records (
      kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
      PRIMARY KEY (kind, tenant, id))`);
  }

  /**
   * Inserts or replaces one record (keeping its place in the order); `json` is the value's
   * JSON text when the caller already has it. Resolves once it is committed.
   */
  put(kind: RecordKind, tenant: string, id: string, value: unknown, json?: string): Promise<void> {
    return this.#write({ kind, tenant, id, body: json ?? JSON.stringify(value) });
  }

  /** Deletes one record; resolves once that is committed. */
  delete(kind: RecordKind, tenant: string, id: string): Promise<void> {
    return this.#write({ kind, tenant, id });
  }

  #write(write: Omit<RecordWrite, 'seq'>): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the server’s record store is closed'));
    if (this.#file === ':memory:') {
      try {
        if (write.body === undefined) this.#deleteNow(write.kind, write.tenant, write.id);
        else this.#putNow(write.kind, write.tenant, write.id, write.body);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const seq = ++this.#seq;
    let settle!: Pick<Pending, 'resolve' | 'reject'>;
    const written = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.#pending.push({ seq, written, ...settle });
    const writer = this.#thread();
    // The thread keeps the process alive only while it has something to write.
    if (this.#pending.length === 1) writer.ref();
    writer.postMessage({ seq, ...write } satisfies RecordWrite);
    return written;
  }

  #thread(): Worker {
    if (this.#writer !== undefined) return this.#writer;
    const writer = moduleThread(import.meta.url, 'record-writer', {
      workerData: { file: this.#file },
    });
    writer.on('message', (answer: WriterAnswer) => {
      const last = 'done' in answer ? answer.done : answer.failed;
      const error =
        'failed' in answer
          ? new Error(`could not store the server’s records: ${answer.message}`)
          : undefined;
      while (this.#pending.length > 0 && this.#pending[0].seq <= last) {
        const write = this.#pending.shift()!;
        if (error === undefined) write.resolve();
        else write.reject(error);
      }
      if (this.#pending.length === 0) writer.unref();
    });
    const lost = (reason: string) => {
      this.#writer = undefined;
      const error = new Error(`the server’s record writer stopped: ${reason}`);
      for (const write of this.#pending.splice(0)) write.reject(error);
    };
    writer.on('error', (error) => lost(error.message));
    writer.on('exit', (code) => lost(`exit code ${code}`));
    writer.unref();
    this.#writer = writer;
    return writer;
  }

  #putNow(kind: RecordKind, tenant: string, id: string, body: string): void {
    this.#db
      .prepare(
        `INSERT INTO server_records (kind, tenant, id, body) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, tenant, id) DO UPDATE SET body = excluded.body`,
      )
      .run(kind, tenant, id, body);
  }

  #deleteNow(kind: RecordKind, tenant: string, id: string): void {
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

  /** Waits for the writes made so far (their failures are their callers'), then closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#pending.map((write) => write.written));
    const writer = this.#writer;
    if (writer !== undefined) {
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      writer.ref();
      writer.postMessage('close');
      await exited;
    }
    this.#db.close();
  }
}
