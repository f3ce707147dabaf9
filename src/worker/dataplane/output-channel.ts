import { DEAD_LETTER_TYPE, type FromThread } from './thread-messages.js';

/** Output batches a thread may have in flight to the orchestrator before it stops processing. */
const OUT_CREDITS = 4;

/**
 * Records leaving a thread for the orchestrator (JSONL sinks and dead letters): encoded
 * once per record as a JSON line, sent as one string per batch, with credits — the
 * orchestrator acknowledges a batch once it is written, so a slow sink holds processing.
 */
export class OutputChannel {
  readonly #batchSize: number;
  readonly #post: (message: FromThread) => void;
  readonly #onAck: () => void;
  readonly #partial = new Map<string, { node: string; type: string; lines: string[] }>();
  readonly #queue: Array<Extract<FromThread, { k: 'out' }>> = [];
  #inflight = 0;

  constructor(batchSize: number, post: (message: FromThread) => void, onAck: () => void) {
    this.#batchSize = batchSize;
    this.#post = post;
    this.#onAck = onAck;
  }

  /** True while a full batch waits for credit: the thread must not produce more. */
  get blocked(): boolean {
    return this.#queue.length > 0;
  }

  /** True when everything produced has been acknowledged. */
  get idle(): boolean {
    return this.#inflight === 0 && this.#queue.length === 0 && this.#partial.size === 0;
  }

  add(node: string, type: string, line: string): void {
    const id = node + '\u0000' + type;
    let partial = this.#partial.get(id);
    if (partial === undefined) this.#partial.set(id, (partial = { node, type, lines: [] }));
    partial.lines.push(line);
    if (partial.lines.length >= this.#batchSize) {
      this.#partial.delete(id);
      this.#enqueue(partial.node, partial.type, partial.lines);
    }
  }

  /** A dead letter (encoded with a fallback for records that are not JSON). */
  dead(node: string, letter: Record<string, unknown>): void {
    let line: string;
    try {
      line = JSON.stringify(letter);
    } catch (error) {
      line = JSON.stringify({ ...letter, record: `[not JSON: ${(error as Error).message}]` });
    }
    this.add(node, DEAD_LETTER_TYPE, line);
  }

  /** Sends partial batches (when the thread has nothing else to do). */
  flush(): void {
    for (const partial of this.#partial.values())
      this.#enqueue(partial.node, partial.type, partial.lines);
    this.#partial.clear();
  }

  ack(): void {
    this.#inflight--;
    this.#pump();
    this.#onAck();
  }

  #enqueue(node: string, type: string, lines: string[]): void {
    if (lines.length === 0) return;
    this.#queue.push({ k: 'out', node, type, count: lines.length, lines: lines.join('\n') + '\n' });
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight < OUT_CREDITS && this.#queue.length > 0) {
      this.#inflight++;
      this.#post(this.#queue.shift()!);
    }
  }
}
