/**
 * The thread that writes the server's records (see {@link RecordStore}): its own connection
 * to the home database, so that a commit — and SQLite's checkpoint of the write-ahead log
 * into the database, every ~4 MB — never holds the event loop that answers every tenant.
 * Writes arrive in order; those queued together commit in one transaction, and each batch is
 * answered with the last sequence number it covered, or with why it failed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { betterSqlite3, enableWal } from '../stores/sqlite/sqlite-database.js';
import type { RecordWrite, WriterAnswer } from './record-store.js';

const port = parentPort!;
const Database = betterSqlite3();
const db = new Database((workerData as { file: string }).file);
enableWal(db);
// NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
db.pragma('synchronous = NORMAL');
const upsert = db.prepare(
  `INSERT INTO server_records (kind, tenant, id, body) VALUES (?, ?, ?, ?)
   ON CONFLICT (kind, tenant, id) DO UPDATE SET body = excluded.body`,
);
const remove = db.prepare('DELETE FROM server_records WHERE kind = ? AND tenant = ? AND id = ?');
const commit = db.transaction((writes: RecordWrite[]) => {
  for (const w of writes) {
    if (w.body === undefined) remove.run(w.kind, w.tenant, w.id);
    else upsert.run(w.kind, w.tenant, w.id, w.body);
  }
});

let queued: RecordWrite[] = [];
port.on('message', (write: RecordWrite | 'close') => {
  if (write === 'close') {
    if (queued.length > 0) flush();
    db.close();
    port.close();
    return;
  }
  if (queued.length === 0) setImmediate(flush);
  queued.push(write);
});

function flush(): void {
  const writes = queued;
  queued = [];
  const last = writes[writes.length - 1].seq;
  let answer: WriterAnswer;
  try {
    commit(writes);
    answer = { done: last };
  } catch (error) {
    answer = { failed: last, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
}
