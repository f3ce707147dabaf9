import {
  closeSync,
  existsSync,
  fsync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  truncateSync,
  write,
  writeSync,
} from 'node:fs';
import type { SinkSnapshot } from '../checkpoint/checkpoint-store.js';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import { DEAD_LETTER_TYPE } from '../worker/worker-contract.js';

/** The dead-letter file's name under the output folder. */
export const DEAD_LETTER_FILE = 'dead-letters.jsonl';

/**
 * Batches up to this size are written synchronously when nothing is queued for their file:
 * a small write to the page cache takes a few microseconds, a trip through libuv's thread
 * pool and back a few hundred on a busy machine (it was most of the time from the first
 * output batch's arrival to its record being written).
 */
const SYNC_WRITE_BYTES = 64 * 1024;

/** One open output file: its descriptor and the asynchronous writes queued on it. */
interface SinkFile {
  fd: number;
  queued: number;
  tail: Promise<void>;
}

/** Writes all of `bytes` at the file's current position, resuming after a partial write. */
function writeAll(fd: number, bytes: Buffer, offset = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
      if (error) reject(error);
      else if (offset + written < bytes.length)
        writeAll(fd, bytes, offset + written).then(resolve, reject);
      else resolve();
    });
  });
}

/**
 * The orchestrator's JSONL sinks: one file per written type without a store
 * (`<out>/<Type>.jsonl`) and the dead letters (`<out>/dead-letters.jsonl`). Batches arrive
 * as JSONL bytes encoded once in the resource and are written as they are, in arrival
 * order per file; `write` resolves once the bytes are handed to the OS, and only then is
 * the batch acknowledged to the resource, so a slow disk slows the run instead of filling
 * memory.
 */
export class SinkFiles {
  readonly dir: string;
  readonly #files = new Map<string, SinkFile>();
  readonly counts = new Map<string, number>();
  /** Bytes written per type, for checkpoints. */
  readonly #bytes = new Map<string, number>();
  /** After a rollback, files are opened for appending to what the checkpoint kept. */
  #append = false;
  /** Epoch ms when the first (non dead-letter) record was written. */
  firstRecordAt: number | null = null;
  deadLettered = 0;
  #busyMs = 0;
  /** Last run's files, moved aside when this run's were created; deleted at {@link close}. */
  readonly #replaced: string[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Path of the file a type goes to. */
  fileFor(type: string): string {
    return path.join(this.dir, type === DEAD_LETTER_TYPE ? DEAD_LETTER_FILE : `${type}.jsonl`);
  }

  /**
   * Opens the files of `types` now (while the run is being deployed), so the first batch's
   * write is a single write, not an open and a write.
   */
  prepare(types: Iterable<string>): void {
    for (const type of types) this.#file(type);
  }

  #file(type: string): SinkFile {
    let file = this.#files.get(type);
    if (file === undefined) {
      let fd: number;
      try {
        mkdirSync(this.dir, { recursive: true });
        fd = this.#append ? openSync(this.fileFor(type), 'a') : this.#create(this.fileFor(type));
      } catch (cause) {
        throw new WarmflowError(
          'E_SINK',
          `cannot open output file ${this.fileFor(type)}: ${(cause as Error).message}`,
          { cause, hint: 'check that the output folder can be written' },
        );
      }
      file = { fd, queued: 0, tail: Promise.resolve() };
      this.#files.set(type, file);
    }
    return file;
  }

  /**
   * Opens `file` empty. A regular file that holds last run's output is moved aside and
   * deleted once this run is over: truncating it frees its blocks there and then (0.2-0.4 ms
   * for a few KB on ext4), on the way to the run's first record. A link (symbolic or hard) is
   * truncated in place, so its target keeps being the file written.
   */
  #create(file: string): number {
    const old = lstatSync(file, { throwIfNoEntry: false });
    if (old !== undefined && old.isFile() && old.nlink === 1 && old.size > 0) {
      const aside = path.join(path.dirname(file), `.${path.basename(file)}.replaced`);
      renameSync(file, aside);
      this.#replaced.push(aside);
    }
    return openSync(file, 'w');
  }

  async write(type: string, records: number, bytes: Buffer): Promise<void> {
    const started = performance.now();
    const file = this.#file(type);
    this.counts.set(type, (this.counts.get(type) ?? 0) + records);
    this.#bytes.set(type, (this.#bytes.get(type) ?? 0) + bytes.length);
    if (type === DEAD_LETTER_TYPE) this.deadLettered += records;
    if (file.queued === 0 && bytes.length <= SYNC_WRITE_BYTES) {
      for (let offset = 0; offset < bytes.length;)
        offset += writeSync(file.fd, bytes, offset, bytes.length - offset);
    } else {
      file.queued++;
      const done = file.tail.then(() => writeAll(file.fd, bytes));
      // The queue goes on after a failed write; the failure goes to this write's caller.
      const dequeue = (): void => {
        file.queued--;
      };
      file.tail = done.then(dequeue, dequeue);
      await done;
    }
    this.#busyMs += performance.now() - started;
    if (type !== DEAD_LETTER_TYPE && this.firstRecordAt === null)
      this.firstRecordAt = performance.timeOrigin + performance.now();
  }

  /** Milliseconds spent writing. */
  get busyMs(): number {
    return this.#busyMs;
  }

  /**
   * The dead-letter file, when this run wrote one: open now, or holding dead letters a
   * rollback kept (the run went on from a checkpoint with no dead letter after it).
   */
  get deadLetterFile(): string | null {
    return this.#files.has(DEAD_LETTER_TYPE) || this.deadLettered > 0
      ? this.fileFor(DEAD_LETTER_TYPE)
      : null;
  }

  /**
   * Flushes what was written so far to the disk (fsync), so a live run can acknowledge the
   * messages behind it: their outputs then survive a crash of the machine too.
   */
  async sync(): Promise<void> {
    await Promise.all(
      [...this.#files.values()].map(async (f) => {
        await f.tail;
        await new Promise<void>((resolve, reject) =>
          fsync(f.fd, (error) => (error ? reject(error) : resolve())),
        );
      }),
    );
  }

  /** What every file holds now (call once writes are acknowledged and synced). */
  snapshot(): SinkSnapshot {
    const files: SinkSnapshot['files'] = {};
    for (const [type, bytes] of this.#bytes)
      files[type] = { bytes, records: this.counts.get(type) ?? 0 };
    return { files };
  }

  /**
   * Rolls every file back to what a checkpoint recorded (nothing: empty), for a run that
   * continues from that checkpoint: what was written after it is written again. `types`:
   * what the flow writes, for files an earlier orchestrator wrote after the checkpoint.
   */
  async rollback(snapshot: SinkSnapshot | null, types: Iterable<string> = []): Promise<void> {
    await this.close();
    this.#files.clear();
    const files = snapshot?.files ?? {};
    const all = new Set([...types, DEAD_LETTER_TYPE, ...this.#bytes.keys(), ...Object.keys(files)]);
    for (const type of all) {
      const kept = files[type] ?? { bytes: 0, records: 0 };
      const file = this.fileFor(type);
      if (existsSync(file)) truncateSync(file, kept.bytes);
      this.#bytes.set(type, kept.bytes);
      this.counts.set(type, kept.records);
    }
    this.deadLettered = files[DEAD_LETTER_TYPE]?.records ?? 0;
    this.#append = true;
  }

  /** Waits for queued writes and closes every file (once; later writes reopen nothing). */
  async close(): Promise<void> {
    const files = [...this.#files.values()];
    await Promise.all(files.map((f) => f.tail));
    for (const f of files) {
      if (f.fd < 0) continue;
      closeSync(f.fd);
      f.fd = -1;
    }
    const replaced = this.#replaced.splice(0);
    await Promise.all(replaced.map((file) => unlink(file).catch(() => undefined)));
  }
}
