import { statSync } from 'node:fs';
import { WarmflowError } from '../../errors.js';
import type { WorkerConnection } from '../dataplane-contract.js';
import type { DataPlaneMessage, RequestMessage } from '../protocol.js';
import { chunkCount, sourceChunkBytes } from '../../sources/jsonl-chunks.js';
import { mergeNodeStats, type DeploySpec, type NodeStats, type RunResult } from './deploy-spec.js';
import type { FromThread } from './thread-messages.js';
import type { ThreadPool } from './thread-pool.js';

/**
 * One `df.run` on the worker's main thread: deploys the spec onto every thread, relays
 * pushed batches and produced output between the orchestrator's connection and the
 * threads (payloads are passed through, never re-encoded here), runs the drain rounds
 * once the source is exhausted, and answers the request with the measured figures.
 *
 * CPU is measured for the whole process (`process.cpuUsage()` is process-wide, threads
 * included) from deploy to finish; the orchestrator attributes it to nodes by busy time.
 *
 * Progress: every `progress_interval_ms` of the request (default 1 s) it sends
 * `df.progress` when the run moved since the last one, so the orchestrator's stall watchdog
 * sees a run that writes only to stores (no `df.out`) advance. `progress` counts every
 * message a thread sent plus the file chunks threads took (the shared counters); `chunks`
 * is the file chunks read so far.
 */
export class ResourceRun {
  readonly #pool: ThreadPool;
  readonly #connection: WorkerConnection;
  readonly #request: RequestMessage<'df.run'>;
  readonly #spec: DeploySpec;
  readonly #count: number;
  readonly #started = performance.now();
  readonly #cpuStart = process.cpuUsage();
  #peakRss = process.memoryUsage.rss();
  #sampler: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #counters: Int32Array | null = null;
  /** Messages the threads sent during this run (any of them is work done). */
  #events = 0;
  #lastProgress = -1;
  /** Chunks of each file source (the counters run past it by up to one per thread). */
  #chunkTotals: number[] | null = null;
  #waiting = new Map<string, { left: number; resolve: () => void }>();
  #nodes: Record<string, NodeStats> = {};
  #activity = 0;
  #firstStoreWrite: number | null = null;
  #done = false;
  #onEnd: () => void;

  constructor(options: {
    pool: ThreadPool;
    connection: WorkerConnection;
    request: RequestMessage<'df.run'>;
    spec: DeploySpec;
    onEnd: () => void;
  }) {
    this.#pool = options.pool;
    this.#connection = options.connection;
    this.#request = options.request;
    this.#spec = options.spec;
    this.#count = options.pool.threads.length;
    this.#onEnd = options.onEnd;
  }

  async start(): Promise<void> {
    this.#pool.listen(
      (index, message) => this.#onThread(index, message),
      (index, reason) =>
        this.fail(new WarmflowError('E_THREAD', `data-plane thread ${index} died: ${reason}`)),
    );
    this.#sampler = setInterval(() => {
      this.#peakRss = Math.max(this.#peakRss, process.memoryUsage.rss());
    }, 20);
    this.#sampler.unref();
    const every = this.#request.progress_interval_ms ?? 1000;
    this.#ticker = setInterval(
      () => this.#reportProgress(),
      every > 0 ? Math.max(100, every) : 1000,
    );
    this.#ticker.unref();
    // Both expected before the deploy goes out: a thread with little to do can report
    // `source-done` before a slower one has reported `deployed`, and an unexpected message
    // is not counted (the run then waited for it forever).
    const deployed = this.#expect('deployed');
    const sourceDone = this.#expect('source-done');
    // One shared "next chunk" counter per source: threads take chunks as they get to them
    // (a busy or descheduled thread does not hold the others back).
    const counters = new SharedArrayBuffer(4 * Math.max(1, this.#spec.sources.length));
    this.#counters = new Int32Array(counters);
    this.#pool.broadcast({ k: 'deploy', spec: this.#spec, counters });
    await deployed;
    this.#connection.send({ type: 'df.deployed', execution_id: this.#spec.execution_id });
    await sourceDone;
    await this.#drainRounds();
    const finished = this.#expect('finished');
    this.#pool.broadcast({ k: 'finish' });
    await finished;
    this.#finish();
  }

  /** A message of the orchestrator's for this run. */
  handle(
    message: Exclude<DataPlaneMessage, { type: 'df.run' }>,
    payload: Buffer | undefined,
  ): void {
    switch (message.type) {
      case 'df.batch': {
        // Batch `seq` of a source goes to thread seq mod n, as file chunks do (owners go in seq order).
        const seq = message.seq;
        const data =
          payload === undefined ? '{"records":[],"positions":[]}' : payload.toString('utf8');
        this.#pool.post(seq % this.#count, { k: 'push', source: message.source, seq, data });
        return;
      }
      case 'df.commit':
        void this.#commit(message).catch((error: unknown) => this.#connection.fail(message, error));
        return;
      case 'df.end':
        this.#pool.broadcast({ k: 'end', counts: message.counts });
        return;
      case 'df.out-ack':
        if (message.thread >= this.#count)
          throw new WarmflowError(
            'E_PROTOCOL',
            `df.out-ack for thread ${message.thread} of ${this.#count}`,
          );
        this.#pool.post(message.thread, { k: 'out-ack' });
        return;
      case 'df.cancel':
        this.fail(new WarmflowError('E_CANCELLED', 'the run was cancelled by the orchestrator'));
        return;
      default: {
        const unexpected: never = message;
        throw new WarmflowError(
          'E_PROTOCOL',
          `unknown data-plane message "${(unexpected as { type: string }).type}"`,
        );
      }
    }
  }

  /**
   * A commit point of a live run (`df.commit`, with the batches pushed per source so far;
   * the orchestrator sends nothing more until the answer): every thread processes the
   * batches below it, drain rounds move what they produced through the keyed exchanges,
   * and the answer goes once every output is acknowledged by the orchestrator (written to
   * its sinks) and every store write is done (they are per batch). The orchestrator then
   * acknowledges the stream's messages: this is the at-least-once acknowledgement point,
   * and where a checkpoint of keyed state would go for exactly-once.
   */
  async #commit(request: RequestMessage<'df.commit'>): Promise<void> {
    this.#pool.broadcast({ k: 'barrier', counts: request.counts });
    await this.#drainRounds();
    const synced = this.#expect('synced');
    this.#pool.broadcast({ k: 'sync' });
    await synced;
    if (!this.#done) this.#connection.reply(request, { committed: true });
  }
  /**
   * Each round flushes every partial exchange batch and waits for its acks; records a
   * round delivers may create more, so rounds repeat until one moves nothing.
   */
  async #drainRounds(): Promise<void> {
    for (;;) {
      this.#activity = 0;
      const drained = this.#expect('drained');
      this.#pool.broadcast({ k: 'drain' });
      await drained;
      if (this.#activity === 0) break;
    }
  }

  #onThread(index: number, message: FromThread): void {
    this.#events++;
    switch (message.k) {
      case 'out':
        this.#connection.send(
          {
            type: 'df.out',
            node: message.node,
            data_type: message.type,
            count: message.count,
            thread: index,
          },
          Buffer.from(message.lines, 'utf8'),
        );
        return;
      case 'push-ack':
        this.#connection.send({ type: 'df.ack', source: message.source, seq: message.seq });
        return;
      case 'first-store-write':
        if (this.#firstStoreWrite === null) {
          this.#firstStoreWrite = message.at;
          this.#connection.send({ type: 'df.first-write', at: message.at });
        }
        return;
      case 'failed':
        this.fail(
          new WarmflowError(message.error.code, `thread ${index}: ${message.error.message}`),
        );
        return;
      case 'drained':
        this.#activity += message.activity;
        break;
      case 'finished':
        mergeNodeStats(this.#nodes, message.nodes);
        break;
      default:
        break;
    }
    if (this.#waiting.has(message.k)) this.#arrive(message.k);
  }

  /** Sends `df.progress` if the run moved since the last one. */
  #reportProgress(): void {
    if (this.#done || this.#connection.closed) return;
    let taken = 0;
    let chunks = 0;
    if (this.#counters !== null) {
      const totals = (this.#chunkTotals ??= this.#spec.sources.map((source) => {
        if (source.mode !== 'file') return 0;
        try {
          const size = statSync(source.path).size;
          return chunkCount(size, sourceChunkBytes(source, size, this.#count));
        } catch {
          return Number.POSITIVE_INFINITY;
        }
      }));
      for (let i = 0; i < totals.length; i++) {
        const next = Atomics.load(this.#counters, i);
        taken += next;
        chunks += Math.min(next, totals[i]);
      }
    }
    const progress = this.#events + taken;
    if (progress === this.#lastProgress) return;
    this.#lastProgress = progress;
    this.#connection.send({ type: 'df.progress', progress, chunks });
  }

  #arrive(kind: string): void {
    const wait = this.#waiting.get(kind)!;
    if (--wait.left === 0) {
      this.#waiting.delete(kind);
      wait.resolve();
    }
  }

  #expect(kind: string): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(kind, { left: this.#count, resolve }));
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#sampler);
    clearInterval(this.#ticker);
    const cpu = process.cpuUsage(this.#cpuStart);
    const result: RunResult = {
      nodes: this.#nodes,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      peak_rss_bytes: Math.max(this.#peakRss, process.memoryUsage.rss()),
      elapsed_ms: performance.now() - this.#started,
      threads: this.#count,
      first_store_write_at: this.#firstStoreWrite,
    };
    this.#connection.reply(this.#request, { result });
    this.#onEnd();
  }

  /** Ends the run with an error answer; threads are told to stop. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#sampler);
    clearInterval(this.#ticker);
    this.#pool.broadcast({ k: 'cancel' });
    this.#connection.fail(this.#request, error);
    this.#onEnd();
  }

  get done(): boolean {
    return this.#done;
  }
}
