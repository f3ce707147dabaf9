import { statSync } from 'node:fs';
import { WarmflowError } from '../../errors.js';
import type { WorkerConnection } from '../dataplane-contract.js';
import type { DataPlaneMessage, DeployRequest, RequestMessage, WorkerEvents } from '../protocol.js';
import { chunkCount, sourceChunkBytes } from '../../sources/jsonl-chunks.js';
import {
  mergeNodeStats,
  splitDeploySpec,
  type DeploySpec,
  type NodeStats,
  type RunResult,
} from './deploy-spec.js';
import type { EpochStage } from './batch-executor.js';
import { EpochCommitter, type EpochCommitResult } from './epoch-committer.js';
import { partitionOf } from './node-context.js';
import { chunkCounters } from './run-counters.js';
import type { RunStores } from './run-stores.js';
import type { FromThread } from './thread-messages.js';
import type { ThreadPool } from './thread-pool.js';

/** Chunks of the first epoch per thread, before the epoch size is measured. */
const FIRST_EPOCH_CHUNKS_PER_THREAD = 2;
/** An epoch grows or shrinks by at most this factor from one to the next. */
const EPOCH_STEP = 4;
/** An epoch shorter than this says little about the rate (deploy and barrier dominate it). */
const RATE_EPOCH_MS = 20;

/**
 * Bytes of file sources per millisecond that checkpointed epochs of a template ran at on
 * this resource, by template (the last epoch of at least {@link RATE_EPOCH_MS}): the next
 * run of the template sizes its first epoch from it instead of starting small.
 */
const epochRates = new Map<string, number>();
/** Templates whose epoch rates are kept (the oldest is dropped past it). */
const RATES_HELD = 64;

/**
 * One `df.run` on the worker's main thread: deploys the spec onto every thread, relays
 * pushed batches and produced output between the orchestrator's connection and the
 * threads (payloads are passed through, never re-encoded here), runs the drain rounds
 * once the source is exhausted, and answers the request with the measured figures.
 *
 * CPU is measured for the whole process (`process.cpuUsage()` is process-wide, threads
 * included) from deploy to finish; the orchestrator attributes it to nodes by the time
 * the threads ran inside each (`NodeStats.busy_ms`).
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
  readonly #request: DeployRequest;
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
  /** Each file source's size, bytes per chunk and chunks (the counters run past the chunks by up to one per thread). */
  #fileShapes: Array<{ size: number; chunkBytes: number; total: number }> | null = null;
  #waiting = new Map<string, { left: number; resolve: () => void }>();
  #nodes: Record<string, NodeStats> = {};
  #activity = 0;
  #firstStoreWrite: number | null = null;
  #done = false;
  #onEnd: () => void;
  /** Checkpointed runs: the stores the epochs commit to, and the state to restore. */
  readonly #stores: RunStores | null;
  readonly #restore: Record<string, Array<[string, unknown]>>;
  #stages: EpochStage[] = [];
  #stageNodes: Record<string, NodeStats> = {};
  #checkpointed: { epoch: number; resolve: () => void } | null = null;
  /**
   * A run that commits to a persistent store and starts with a learned first epoch: the
   * plan (where that epoch ends) is recorded before anything of it commits.
   */
  #plans = false;
  /** The plan being recorded; epoch 0 commits once it is. */
  #planRecorded: Promise<void> | null = null;
  /** A checkpointed live run's store commits (made at its first epoch). */
  #committer: EpochCommitter | null = null;
  /** A run deployed with `handover`: the keyed state the threads hand over at the end. */
  readonly #handedOver: Record<string, Array<[string, unknown]>> = {};
  /** What must end before this run takes the threads (a warm-up being stopped). */
  readonly #before: Promise<void> | undefined;
  /** Whether this is a warm-up run (warmflow's own functions, see `WarmUp`). */
  readonly #warmUp: boolean;
  /**
   * The orchestrator's messages for this run that came before its deploy went out (while a
   * warm-up stops), in order. The orchestrator sends none before `df.deployed` today; held
   * anyway, since a thread would take one for the warm-up run it is still on.
   */
  #held: Array<() => void> | null = [];
  #yielded = false;

  constructor(options: {
    pool: ThreadPool;
    connection: WorkerConnection;
    request: DeployRequest;
    spec: DeploySpec;
    onEnd: () => void;
    /** The resource's own connections to persistent stores (checkpointed runs commit with them). */
    stores?: RunStores;
    /** The request's payload: checkpointed state to restore, `{node: [[item key, value]…]}`. */
    payload?: Buffer;
    /** Resolves when the threads are free for this run (a warm-up has stopped). */
    before?: Promise<void>;
    /** A warm-up run: the threads run warmflow's own warm-up functions, not the tenant's. */
    warmUp?: boolean;
  }) {
    this.#before = options.before;
    this.#warmUp = options.warmUp === true;
    this.#pool = options.pool;
    this.#connection = options.connection;
    this.#request = options.request;
    this.#spec = options.spec;
    this.#count = options.pool.threads.length;
    this.#onEnd = options.onEnd;
    this.#stores = options.stores ?? null;
    this.#restore =
      options.payload === undefined || options.payload.length === 0
        ? {}
        : (JSON.parse(options.payload.toString('utf8')) as Record<
            string,
            Array<[string, unknown]>
          >);
  }

  async start(): Promise<void> {
    if (this.#before !== undefined) await this.#before;
    if (this.#done) return;
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
    // Deployed as soon as one thread is: it reads and outputs at once, and the others' messages
    // (barriers, drains) wait in their queues behind their deploys.
    const deployed = this.#expect('deployed', 1);
    const sourceDone = this.#expect('source-done');
    // One shared "next chunk" counter per source: threads take chunks as they get to them
    // (a busy or descheduled thread does not hold the others back).
    const claimed = this.#warmUp
      ? this.#pool.warmUpCounters(this.#spec.execution_id)
      : this.#pool.counters(this.#spec.sources.length, this.#spec.execution_id);
    if (claimed === null) {
      this.#yielded = true;
      this.fail(new WarmflowError('E_CANCELLED', 'the warm-up gave way to a run'));
      return;
    }
    const { counters, next } = claimed;
    this.#counters = chunkCounters(counters);
    const resume = this.#spec.checkpoint?.resume;
    resume?.positions.forEach((p, i) => Atomics.store(this.#counters!, i, p));
    // A checkpointed run's first epoch goes with the deploy: threads read from the moment
    // they are deployed instead of waiting for the main thread to hear that and answer.
    const epochs = this.#spec.checkpoint !== undefined && !this.#pushed();
    const limits = epochs ? this.#firstLimits() : undefined;
    // The template part goes to the threads once per template id, not cloned into each run.
    const { template, run } = splitDeploySpec(this.#spec);
    const id = this.#spec.template_id;
    const { held, forget } = id === undefined ? { held: false } : this.#pool.hold(id);
    for (let i = 0; i < this.#count; i++)
      this.#pool.post(i, {
        k: 'deploy',
        spec: run,
        ...(held ? {} : { template }),
        ...(forget !== undefined ? { forget } : {}),
        counters,
        next,
        ...(limits !== undefined ? { limits } : {}),
        ...(this.#request.out !== undefined ? { out: this.#request.out } : {}),
        ...(this.#warmUp ? { warmUp: true } : {}),
        // A checkpoint's state, or the state a resized run's previous resource handed over.
        ...(resume !== undefined || Object.keys(this.#restore).length > 0
          ? { restore: this.#restoreFor(i) }
          : {}),
      });
    // What the orchestrator sent meanwhile reaches the threads after their deploy.
    const early = this.#held ?? [];
    this.#held = null;
    for (const replay of early) replay();
    await deployed;
    this.#connection.send({ type: 'df.deployed', execution_id: this.#spec.execution_id });
    if (this.#plans && limits !== undefined) this.#planRecorded = this.#recordPlan(limits);
    // A checkpointed live run's epochs are the orchestrator's commits (`df.commit` with an
    // epoch); only file sources are cut into epochs here.
    if (limits !== undefined) {
      void sourceDone;
      await this.#epochs(limits);
    } else {
      await sourceDone;
      await this.#drainRounds();
    }
    const finished = this.#expect('finished');
    this.#pool.broadcast({ k: 'finish' });
    await finished;
    this.#finish();
  }

  /** A message of the orchestrator's for this run. */
  handle(
    message: Exclude<DataPlaneMessage, { type: 'df.run' | 'df.template' | 'df.wake' }>,
    payload: Buffer | undefined,
  ): void {
    if (this.#held !== null && message.type !== 'df.cancel') {
      this.#held.push(() => this.handle(message, payload));
      return;
    }
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
        // An acknowledgement of an earlier run's output (one that was cancelled) is not this run's credit.
        if (message.execution_id !== undefined && message.execution_id !== this.#spec.execution_id)
          return;
        if (message.thread >= this.#count)
          throw new WarmflowError(
            'E_PROTOCOL',
            `df.out-ack for thread ${message.thread} of ${this.#count}`,
          );
        this.#pool.post(message.thread, { k: 'out-ack' });
        return;
      case 'df.checkpointed':
        if (this.#checkpointed !== null && this.#checkpointed.epoch === Number(message.epoch))
          this.#checkpointed.resolve();
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
   * acknowledges the stream's messages. In a checkpointed live run the commit carries an
   * epoch: the batches since the last one are that epoch, their staged writes commit to
   * every store with its marker and the checkpoint (keyed state changes) is recorded before
   * the answer — the orchestrator fixed the epoch's messages before sending it, so a
   * replacement resource replays exactly the same epoch after a death.
   */
  async #commit(request: RequestMessage<'df.commit'>): Promise<void> {
    this.#pool.broadcast({ k: 'barrier', counts: request.counts });
    await this.#drainRounds();
    const synced = this.#expect('synced');
    this.#pool.broadcast({ k: 'sync' });
    await synced;
    if (request.epoch !== undefined && this.#spec.checkpoint !== undefined) {
      // A checkpointed live run: what was pushed since the last commit is this epoch.
      this.#committer ??= new EpochCommitter(this.#spec, this.#stores!);
      const zeros = this.#spec.sources.map(() => 0);
      const result = await this.#stageAndCommit(this.#committer, request.epoch);
      if (result === null) {
        // Not committed: the orchestrator must not acknowledge the epoch's messages.
        this.#connection.fail(
          request,
          new WarmflowError('E_CANCELLED', `the run ended before epoch ${request.epoch} committed`),
        );
        return;
      }
      await this.#checkpoint(request.epoch, result, {
        positions: zeros,
        next: zeros,
        last: false,
        chunk_bytes: zeros,
      });
    }
    if (!this.#done) this.#connection.reply(request, { committed: true });
  }

  /** Whether a keyed node's state lives in a persistent store (committed with each epoch). */
  #keepsState(): boolean {
    const spec = this.#spec;
    return Object.values(spec.state_stores).some(
      (name) => (spec.stores[name]?.kind ?? 'memory') !== 'memory',
    );
  }

  /** Whether the run reads pushed sources (the orchestrator's batches: live streams, stdin). */
  #pushed(): boolean {
    return this.#spec.sources.some((s) => s.mode === 'push');
  }

  /**
   * The end of an epoch: the threads hand over what they staged and each store commits its
   * share with the epoch's marker. Null when the run ended meanwhile.
   */
  async #stageAndCommit(
    committer: EpochCommitter,
    epoch: number,
    last = false,
  ): Promise<EpochCommitResult | null> {
    this.#stages = [];
    this.#stageNodes = {};
    const staged = this.#expect('staged');
    // The last epoch of a file run is not recorded (its stores hold it): its state changes
    // matter only to a store that keeps the state.
    this.#pool.broadcast({ k: 'stage', state: !last || this.#keepsState() });
    await staged;
    if (this.#planRecorded !== null) {
      await this.#planRecorded;
      this.#planRecorded = null;
    }
    if (this.#done) return null;
    const result = await committer.commit(epoch, this.#stages);
    if (result.written > 0 && this.#firstStoreWrite === null) {
      this.#firstStoreWrite = Date.now();
      this.#connection.send({ type: 'df.first-write', at: this.#firstStoreWrite });
    }
    return result;
  }

  /** Sends the checkpoint of a committed epoch and waits until the orchestrator recorded it. */
  async #checkpoint(
    epoch: number,
    result: EpochCommitResult,
    where: { positions: number[]; next: number[]; last: boolean; chunk_bytes: number[] },
  ): Promise<void> {
    const nodes = withoutKeyCounts(this.#spec.checkpoint?.resume?.nodes ?? {});
    mergeNodeStats(nodes, this.#stageNodes);
    await this.#record(
      { epoch, ...where, nodes, written: result.written, skipped: result.skipped },
      // The last epoch's state changes are not recorded: the orchestrator only counts it.
      where.last ? undefined : Buffer.from(JSON.stringify(stateForWire(result.state)), 'utf8'),
    );
  }

  /**
   * Records the plan of a run whose first epoch was learned (larger than the fixed one) and
   * that can commit to a persistent store: a checkpoint of epoch -1 at the start, whose next
   * epoch ends at `first`. A replay after a death then reads exactly that first epoch, which
   * the store may hold by its marker already; epoch 0 commits only once this is recorded.
   */
  async #recordPlan(first: number[]): Promise<void> {
    const zeros = this.#spec.sources.map(() => 0);
    await this.#record(
      {
        epoch: -1,
        positions: zeros,
        next: first,
        nodes: {},
        written: 0,
        skipped: 0,
        last: false,
        chunk_bytes: this.#chunkBytes(),
      },
      Buffer.from('{}', 'utf8'),
    );
  }

  /** Sends `df.checkpoint` and waits until the orchestrator recorded it (`df.checkpointed`). */
  async #record(
    checkpoint: WorkerEvents['df.checkpoint'],
    payload: Buffer | undefined,
  ): Promise<void> {
    const done = new Promise<void>(
      (resolve) => (this.#checkpointed = { epoch: checkpoint.epoch, resolve }),
    );
    this.#connection.send({ type: 'df.checkpoint', ...checkpoint }, payload);
    await done;
    this.#checkpointed = null;
  }
  /**
   * A checkpointed run, epoch by epoch. An epoch is a range of chunks of every file source,
   * fixed before it starts: threads read only its chunks, drain rounds move what they
   * produced through the keyed exchanges, every output is acknowledged by the orchestrator
   * (written), then the threads hand over their staged writes and state changes, each store
   * commits its share with the epoch's marker, and the orchestrator records the checkpoint
   * (`df.checkpoint`, answered by `df.checkpointed`) before the next epoch reads anything —
   * so a checkpoint covers exactly the epochs before it. Epochs are sized in chunks so that
   * one takes about `interval_ms`.
   */
  async #epochs(first: number[]): Promise<void> {
    const checkpoint = this.#spec.checkpoint!;
    const committer = new EpochCommitter(this.#spec, this.#stores!);
    const totals = this.#totals();
    const resume = checkpoint.resume;
    let epoch = resume === undefined ? 0 : resume.epoch + 1;
    let step = Math.max(...first.map((l, i) => l - (resume?.positions[i] ?? 0)), 1);
    let limits = first;
    let from = resume?.positions ?? first.map(() => 0);
    // The first epoch went out with the deploy.
    let began = this.#started;
    for (;;) {
      if (limits !== first) {
        began = performance.now();
        this.#pool.broadcast({ k: 'epoch', limits });
      }
      this.#pool.broadcast({
        k: 'barrier',
        counts: Object.fromEntries(this.#spec.sources.map((s, i) => [s.node_id, limits[i]])),
      });
      await this.#drainRounds();
      const synced = this.#expect('synced');
      this.#pool.broadcast({ k: 'sync' });
      await synced;
      const last = limits.every((l, i) => l >= totals[i]);
      const result = await this.#stageAndCommit(committer, epoch, last);
      if (result === null) return;
      // The next epoch's end is fixed now and recorded with this checkpoint: a replay after a
      // recovery must read the same chunks in it, since stores may already hold its writes.
      const elapsed = performance.now() - began;
      this.#learnRate(from, limits, elapsed);
      const factor = Math.min(
        EPOCH_STEP,
        Math.max(1 / EPOCH_STEP, checkpoint.interval_ms / Math.max(1, elapsed)),
      );
      step = Math.max(1, Math.round(step * factor));
      const next = limits.map((l, i) => Math.min(totals[i], l + step));
      await this.#checkpoint(epoch, result, {
        positions: limits,
        next,
        last,
        chunk_bytes: this.#chunkBytes(),
      });
      if (this.#done || last) return;
      epoch++;
      from = limits;
      limits = next;
    }
  }

  /**
   * Keeps the rate at which an epoch read chunks `[from, to)` of each file source in
   * `elapsedMs`, for the first epoch of the template's next run on this resource.
   */
  #learnRate(from: number[], to: number[], elapsedMs: number): void {
    const key = this.#rateKey();
    if (elapsedMs < RATE_EPOCH_MS) return;
    const sizes = this.#sizes();
    const bytes = this.#chunkBytes().reduce(
      (sum, chunk, i) =>
        sum + Math.max(0, Math.min(sizes[i], to[i] * chunk) - Math.min(sizes[i], from[i] * chunk)),
      0,
    );
    if (bytes <= 0) return;
    epochRates.delete(key);
    epochRates.set(key, bytes / elapsedMs);
    if (epochRates.size > RATES_HELD) epochRates.delete(epochRates.keys().next().value!);
  }

  /** Which template's epoch rate this run learns from and feeds: its template and sources. */
  #rateKey(): string {
    const spec = this.#spec;
    return `${spec.template_id ?? spec.template.name}\u0000${spec.sources.map((s) => s.node_id).join('\u0000')}`;
  }

  /** Whether the run can commit to a persistent store (a typed or a state store not in memory). */
  #commitsToStore(): boolean {
    const spec = this.#spec;
    const used = new Set([...Object.values(spec.type_stores), ...Object.values(spec.state_stores)]);
    for (const name of used) if ((spec.stores[name]?.kind ?? 'memory') !== 'memory') return true;
    return false;
  }

  /**
   * Chunks of each source below which the first epoch reads (a resumed run's: its
   * checkpoint's). A template this resource ran before starts with an epoch of about the
   * interval at its last rate. A run of memory stores and JSONL sinks replays from the start
   * with everything rolled back after a death, whatever its first epoch; a run that can
   * commit to a persistent store records that first epoch before it commits (the plan,
   * {@link #recordPlan}), and a replay of it without any checkpoint (its first attempt may
   * have committed a fixed first epoch) reads the fixed one.
   */
  #firstLimits(): number[] {
    const checkpoint = this.#spec.checkpoint!;
    if (checkpoint.resume !== undefined) return checkpoint.resume.next;
    const fixed = FIRST_EPOCH_CHUNKS_PER_THREAD * this.#count;
    const rate = checkpoint.replay === true ? undefined : epochRates.get(this.#rateKey());
    let step = fixed;
    if (rate !== undefined) {
      const perStep = this.#chunkBytes().reduce((sum, bytes) => sum + bytes, 0);
      if (perStep > 0) step = Math.max(step, Math.ceil((rate * checkpoint.interval_ms) / perStep));
    }
    const limits = this.#totals().map((total) => Math.min(total, step));
    this.#plans =
      this.#commitsToStore() &&
      limits.some((limit, i) => limit !== Math.min(this.#totals()[i], fixed));
    return limits;
  }

  /** Thread `index`'s share of the checkpointed state: the keys its partition owns. */
  #restoreFor(index: number): Record<string, Array<[string, unknown]>> {
    const out: Record<string, Array<[string, unknown]>> = {};
    for (const [node, items] of Object.entries(this.#restore)) {
      const mine: Array<[string, unknown]> = (out[node] = []);
      for (const item of items) {
        const key = item[0].slice(0, item[0].lastIndexOf('\u0000'));
        if (partitionOf(key, this.#count) === index) mine.push(item);
      }
    }
    return out;
  }

  /** Bytes per chunk of each file source (0 for pushed ones): a resumed run reads the same chunks. */
  #chunkBytes(): number[] {
    return this.#files().map((file) => file.chunkBytes);
  }

  /** Chunks of each file source (0 for pushed ones). */
  #totals(): number[] {
    return this.#files().map((file) => file.total);
  }

  /** Bytes of each file source (0 for pushed ones). */
  #sizes(): number[] {
    return this.#files().map((file) => file.size);
  }

  /**
   * Each file source's size, bytes per chunk and chunks, read once per run (a file that
   * cannot be read: no chunk size, and chunks without end — its thread reports the error).
   */
  #files(): Array<{ size: number; chunkBytes: number; total: number }> {
    return (this.#fileShapes ??= this.#spec.sources.map((source) => {
      if (source.mode !== 'file') return { size: 0, chunkBytes: 0, total: 0 };
      try {
        const size = statSync(source.path).size;
        const chunkBytes = sourceChunkBytes(source, size, this.#count);
        return { size, chunkBytes, total: chunkCount(size, chunkBytes) };
      } catch {
        return { size: 0, chunkBytes: 0, total: Number.POSITIVE_INFINITY };
      }
    }));
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
            execution_id: this.#spec.execution_id,
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
        for (const [node, items] of Object.entries(message.state ?? {})) {
          const all = (this.#handedOver[node] ??= []);
          // Not push(...items): a thread may hold more keys than a call takes arguments.
          for (const item of items) all.push(item);
        }
        break;
      case 'staged':
        this.#stages.push({ writes: message.writes, state: message.state });
        mergeNodeStats(this.#stageNodes, message.nodes);
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
    const perSource: number[] = [];
    if (this.#counters !== null) {
      const totals = this.#totals();
      for (let i = 0; i < totals.length; i++) {
        const next = Atomics.load(this.#counters, i);
        taken += next;
        chunks += Math.min(next, totals[i]);
        perSource.push(Math.min(next, totals[i]));
      }
    }
    const progress = this.#events + taken;
    if (progress === this.#lastProgress) return;
    this.#lastProgress = progress;
    this.#connection.send({ type: 'df.progress', progress, chunks, taken: perSource });
  }

  #arrive(kind: string): void {
    const wait = this.#waiting.get(kind)!;
    if (--wait.left === 0) {
      this.#waiting.delete(kind);
      wait.resolve();
    }
  }

  /** Resolves once `threads` threads (default all) sent a message of `kind`. */
  #expect(kind: string, threads = this.#count): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(kind, { left: threads, resolve }));
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#sampler);
    clearInterval(this.#ticker);
    const cpu = process.cpuUsage(this.#cpuStart);
    const resumed = this.#spec.checkpoint?.resume?.nodes;
    const nodes = resumed === undefined ? this.#nodes : withoutKeyCounts(resumed);
    if (resumed !== undefined) mergeNodeStats(nodes, this.#nodes);
    const result: RunResult = {
      nodes,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      peak_rss_bytes: Math.max(this.#peakRss, process.memoryUsage.rss()),
      elapsed_ms: performance.now() - this.#started,
      threads: this.#count,
      first_store_write_at: this.#firstStoreWrite,
    };
    this.#connection.reply(
      this.#request,
      { result },
      this.#spec.handover === true
        ? Buffer.from(JSON.stringify(this.#handedOver), 'utf8')
        : undefined,
    );
    this.#onEnd();
  }

  /** Ends the run with an error answer; threads are told to stop. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#sampler);
    clearInterval(this.#ticker);
    this.#pool.broadcast({ k: 'cancel', run: this.#spec.execution_id });
    this.#connection.fail(this.#request, error);
    this.#onEnd();
  }

  get done(): boolean {
    return this.#done;
  }

  /** A warm-up run that never started: a thread had taken a run from its channel. */
  get yielded(): boolean {
    return this.#yielded;
  }
}

/** Figures of a checkpoint to add a resource's own to: distinct keys are counted again, not added. */
function withoutKeyCounts(nodes: Record<string, NodeStats>): Record<string, NodeStats> {
  const out = structuredClone(nodes);
  for (const stats of Object.values(out)) delete stats.keys;
  return out;
}

/** State changes as JSON carries them: a deleted slot (`[item, undefined]`) as `[item]`. */
function stateForWire(
  state: Record<string, Array<[string, unknown]>>,
): Record<string, unknown[][]> {
  const out: Record<string, unknown[][]> = {};
  for (const [node, items] of Object.entries(state))
    out[node] = items.map(([item, value]) => (value === undefined ? [item] : [item, value]));
  return out;
}
