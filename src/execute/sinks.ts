import { createWriteStream, fsync, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { DEAD_LETTER_TYPE } from '../worker/worker-contract.js';

/** The dead-letter file's name under the output folder. */
export const DEAD_LETTER_FILE = 'dead-letters.jsonl';

/**
 * The orchestrator's JSONL sinks: one file per written type without a store
 * (`<out>/<Type>.jsonl`) and the dead letters (`<out>/dead-letters.jsonl`). Batches arrive
 * as JSONL bytes encoded once in the resource and are written as they are; `write`
 * resolves once the bytes are handed to the OS, and only then is the batch acknowledged
 * to the resource, so a slow disk slows the run instead of filling memory.
 */
export class SinkFiles {
  readonly dir: string;
  readonly #files = new Map<string, WriteStream>();
  readonly counts = new Map<string, number>();
  /** Epoch ms when the first (non dead-letter) record was written. */
  firstRecordAt: number | null = null;
  deadLettered = 0;
  #busyMs = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Path of the file a type goes to. */
  fileFor(type: string): string {
    return path.join(this.dir, type === DEAD_LETTER_TYPE ? DEAD_LETTER_FILE : `${type}.jsonl`);
  }

  /**
   * Opens the files of `types` now (the open runs while the run is being deployed), so the
   * first batch's write is a single write, not an open and a write.
   */
  prepare(types: Iterable<string>): void {
    for (const type of types) this.#file(type);
  }

  #file(type: string): WriteStream {
    let file = this.#files.get(type);
    if (file === undefined) {
      mkdirSync(this.dir, { recursive: true });
      file = createWriteStream(this.fileFor(type));
      this.#files.set(type, file);
    }
    return file;
  }

  write(type: string, records: number, bytes: Buffer): Promise<void> {
    const started = performance.now();
    const file = this.#file(type);
    this.counts.set(type, (this.counts.get(type) ?? 0) + records);
    if (type === DEAD_LETTER_TYPE) this.deadLettered += records;
    return new Promise((resolve, reject) => {
      file.write(bytes, (error) => {
        this.#busyMs += performance.now() - started;
        if (error) reject(error);
        else {
          if (type !== DEAD_LETTER_TYPE && this.firstRecordAt === null)
            this.firstRecordAt = performance.timeOrigin + performance.now();
          resolve();
        }
      });
    });
  }

  /** Milliseconds spent writing. */
  get busyMs(): number {
    return this.#busyMs;
  }

  /** Whether a dead-letter file was written. */
  get deadLetterFile(): string | null {
    return this.#files.has(DEAD_LETTER_TYPE) ? this.fileFor(DEAD_LETTER_TYPE) : null;
  }

  /**
   * Flushes what was written so far to the disk (fsync), so a live run can acknowledge the
   * messages behind it: their outputs then survive a crash of the machine too.
   */
  async sync(): Promise<void> {
    await Promise.all(
      [...this.#files.values()].map(
        (f) =>
          new Promise<void>((resolve, reject) => {
            const fd = (f as WriteStream & { fd: number | null }).fd;
            if (typeof fd !== 'number') return resolve();
            fsync(fd, (error) => (error ? reject(error) : resolve()));
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#files.values()].map((f) => new Promise<void>((resolve) => f.end(resolve))),
    );
  }
}
