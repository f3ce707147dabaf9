import { unpackItems } from './record-columns.js';
import { deadLetterFailure } from './failure-location.js';
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { WarmflowError } from '../../errors.js';
import type { UserFunction } from '../../template/function-api.js';
import { BatchExecutor } from './batch-executor.js';
import {
  CHUNK_BYTES,
  chunkCount,
  afterLines,
  parseLines,
  readChunkText,
  type ParsedChunk,
  sourceChunkBytes,
} from '../../sources/jsonl-chunks.js';
import type { DeploySpec, NodeStats, SourceSpec } from './deploy-spec.js';
import { MALFORMED_KEPT } from './deploy-spec.js';
import { decodeLivePayload, type LiveBadMessage } from '../../sources/live/live-payload.js';
import { compileGraph, type NodeGraph } from './node-graph.js';
import { OutputChannel } from './output-channel.js';
import { PeerExchange } from './peer-exchange.js';
import type { RunStores } from './run-stores.js';
import {
  POSITION_SOURCE_FACTOR,
  type ExchangeItem,
  type FromThread,
  type PeerMessage,
  type ToThread,
} from './thread-messages.js';
import { onCpuMs } from './on-cpu-clock.js';

/** Records of a run's first chunk that run (and whose output is sent) before the rest. */
const FIRST_SLICE = 16;
/** How many chunks past the slowest owner a thread may read ahead. */
const WINDOW = 32;

interface SourceState {
  spec: SourceSpec;
  index: number;
  fd: number | null;
  size: number;
  chunkBytes: number;
  /** Chunks in all (push: known at `end`). */
  total: number;
  /** Whether the shared counter has run past the last chunk (file mode). */
  readDone: boolean;
  /** Next chunk this thread processes as an owner. */
  nextOwn: number;
  /** Chunks received but not yet processed, by chunk number. */
  reorder: Map<number, ExchangeItem[]>;
  /** Each thread's `nextOwn` as last heard (own included). */
  marks: number[];
  pushed: Array<{ seq: number; recs: unknown[]; pos: number[] }>;
  stats: NodeStats;
}

/**
 * One data-plane thread during one run. Threads take the chunks of each source in turn
 * from a shared counter (pushed batch c goes to thread c mod n), run the unkeyed prefix of the flow on them, and send each
 * owner its share of the keyed records tagged with the chunk number; owners process
 * chunks strictly in order, so every key sees its records in input order although
 * parsing runs on all threads. A thread reads at most {@link WINDOW} chunks past the
 * slowest owner, which bounds memory. Exchanges further down go FIFO with credits.
 * Processing never waits on a peer (no deadlock); it stops only while output to the
 * orchestrator is out of credits (a slow sink), which in turn stops reading.
 */
export class PartitionRuntime {
  readonly #post: (message: FromThread) => void;
  readonly #peers: ReadonlyArray<MessagePort | null>;
  readonly #index: number;
  readonly #n: number;
  readonly #functions: ReadonlyMap<string, UserFunction>;
  readonly #stores: RunStores;
  /** The execution this runtime runs (tags its peer messages). */
  readonly #run: string;
  #counters!: Int32Array;
  #executor!: BatchExecutor;
  #out!: OutputChannel;
  #sources: SourceState[] = [];
  #byId = new Map<string, SourceState>();
  #collect: Array<Map<string, ExchangeItem>> = [];
  #links!: PeerExchange;
  #pushEnded = false;
  #sourceDoneSent = false;
  #drainRequested = false;
  /**
   * Checkpointed run: chunks of each file source below which this epoch reads (the epoch's
   * end); none: no limit.
   */
  #limits: number[] | null = null;
  /** The commit point being drained to (pushed batches or file chunks per source), if any. */
  #barrier: Record<string, number> | null = null;
  #syncRequested = false;
  #finishRequested = false;
  #stateFlushed = false;
  /** The run hands its keyed state over at the end (`DeploySpec.handover`). */
  #handover = false;
  #stopped = false;
  /** No chunk has run yet: the first one runs a small slice first and ships its output. */
  #firstSlice = true;
  #wake: (() => void) | null = null;
  /** Messages that arrived before deploy finished, replayed in order after it. */
  #early: Array<() => void> | null = [];

  constructor(options: {
    index: number;
    peers: ReadonlyArray<MessagePort | null>;
    functions: ReadonlyMap<string, UserFunction>;
    stores: RunStores;
    post: (message: FromThread) => void;
    /** The execution id of the spec it will deploy. */
    run: string;
  }) {
    this.#run = options.run;
    this.#index = options.index;
    this.#peers = options.peers;
    this.#n = options.peers.length;
    this.#functions = options.functions;
    this.#stores = options.stores;
    this.#post = options.post;
  }

  /** Prepares a run: compiles the graph, opens its stores and sources, starts the loop. */
  async deploy(
    spec: DeploySpec,
    counters: Int32Array,
    options: {
      /** Where the deploy is, for the log line of one that hangs. */
      step?: { at: string };
      /** Checkpointed state of this thread's keys, per keyed node. */
      restore?: Record<string, Array<[string, unknown]>>;
      /** A checkpointed run's first epoch; absent, nothing is read before an `epoch` message. */
      limits?: number[];
      /** Graphs compiled from this spec's template by earlier runs, by source nodes. */
      graphs?: Map<string, NodeGraph>;
      /**
       * A checkpointed run without `limits` yet (taken from the thread's channel): its first
       * epoch is each file source's first chunk until an `epoch` message brings the real one.
       */
      provisional?: boolean;
    } = {},
  ): Promise<void> {
    const { step = { at: '' }, restore = {}, limits, graphs } = options;
    step.at = 'compiling the routing';
    this.#counters = counters;
    const sourceIds = spec.sources.map((s) => s.node_id);
    const graphKey = sourceIds.join('\u0000');
    let graph = graphs?.get(graphKey);
    if (graph === undefined) {
      graph = compileGraph(spec.template, spec.node_ids, sourceIds, spec.type_keys);
      graphs?.set(graphKey, graph);
    }
    step.at = 'opening the stores';
    const opened = await this.#stores.forRun(spec, step);
    step.at = 'opening the sources';
    this.#out = new OutputChannel(spec.batch_size ?? 1000, this.#post, () => this.#poke());
    this.#links = new PeerExchange(this.#peers, this.#run, spec.batch_size ?? 1000);
    this.#executor = new BatchExecutor({
      graph,
      template: spec.template.name,
      functions: this.#functions,
      stores: opened.stores,
      stateStores: opened.stateStores,
      lookups: opened.lookups,
      partition: this.#index,
      partitions: this.#n,
      outlets: {
        exchange: (p, node, recs, pos) => this.#exchange(p, node, recs, pos),
        sink: (node, type, rec) => this.#out.add(node, type, JSON.stringify(rec)),
        dead: (node, rec, error, pos) => this.#deadLetter(node, rec, error, pos),
        stored: () => this.#post({ k: 'first-store-write', at: Date.now() }),
      },
      checkpoints: spec.checkpoint !== undefined,
    });
    for (const [node, items] of Object.entries(restore)) this.#executor.restore(node, items);
    this.#handover = spec.handover === true;
    const start = spec.checkpoint?.resume?.positions ?? [];
    // Nothing is read before the first epoch says how far.
    if (spec.checkpoint !== undefined)
      this.#limits = limits ?? spec.sources.map((_, i) => start[i] ?? 0);
    for (const [index, source] of spec.sources.entries()) {
      const state: SourceState = {
        spec: source,
        index,
        fd: null,
        size: 0,
        chunkBytes: CHUNK_BYTES,
        total: Number.POSITIVE_INFINITY,
        readDone: false,
        nextOwn: start[index] ?? 0,
        reorder: new Map(),
        marks: new Array<number>(this.#n).fill(start[index] ?? 0),
        pushed: [],
        stats: { records_in: 0, records_out: 0, dead_lettered: 0, busy_ms: 0 },
      };
      if (source.mode === 'file') {
        state.fd = openSync(source.path, 'r');
        state.size = fstatSync(state.fd).size;
        state.chunkBytes = sourceChunkBytes(source, state.size, this.#n);
        state.total = chunkCount(state.size, state.chunkBytes);
      }
      this.#sources.push(state);
      this.#byId.set(source.node_id, state);
    }
    if (options.provisional === true && spec.checkpoint !== undefined && limits === undefined)
      this.#limits = this.#sources.map((s) => Math.min(s.total, (start[s.index] ?? 0) + 1));
    if (!spec.sources.some((s) => s.mode === 'push')) this.#pushEnded = true;
    const early = this.#early ?? [];
    this.#early = null;
    for (const replay of early) replay();
    void this.#loop()
      .catch((error: unknown) => this.#fail(error))
      .finally(() => this.#closeSources());
  }

  /** The execution this runtime runs. */
  get run(): string {
    return this.#run;
  }

  /** Whether the run is still going here (not finished, failed or cancelled). */
  get active(): boolean {
    return !this.#stopped;
  }

  handle(message: ToThread): void {
    if (this.#early !== null && message.k !== 'cancel') {
      this.#early.push(() => this.handle(message));
      return;
    }
    switch (message.k) {
      case 'push': {
        const state = this.#byId.get(message.source);
        if (state === undefined)
          throw new WarmflowError('E_PROTOCOL', `push for unknown source "${message.source}"`);
        // A live source's messages come unparsed and are parsed here, once.
        const live = decodeLivePayload(message.data);
        const { records, positions } =
          live ?? (JSON.parse(message.data) as { records: unknown[]; positions: number[] });
        for (const bad of live?.bad ?? []) this.#badMessage(state, bad);
        const base = state.index * POSITION_SOURCE_FACTOR;
        state.pushed.push({ seq: message.seq, recs: records, pos: positions.map((p) => base + p) });
        break;
      }
      case 'end':
        for (const state of this.#sources)
          if (state.spec.mode === 'push') state.total = message.counts[state.spec.node_id] ?? 0;
        this.#pushEnded = true;
        break;
      case 'drain':
        this.#drainRequested = true;
        break;
      case 'barrier':
        this.#barrier = message.counts;
        break;
      case 'sync':
        this.#syncRequested = true;
        break;
      case 'epoch':
        this.#limits = message.limits;
        break;
      case 'stage': {
        const stage = this.#executor.stage(message.state !== false);
        this.#post({ k: 'staged', ...stage, nodes: this.#stats() });
        return;
      }
      case 'finish':
        this.#finishRequested = true;
        break;
      case 'out-ack':
        this.#out.ack();
        break;
      case 'cancel':
        this.#stopped = true;
        break;
      default:
        return;
    }
    this.#poke();
  }

  /** A message from peer thread `from` (the thread entry subscribes once and forwards). */
  peerMessage(from: number, message: PeerMessage): void {
    // A faster peer may be sending before this thread has finished deploying.
    if (this.#early !== null) {
      this.#early.push(() => this.peerMessage(from, message));
      return;
    }
    switch (message.k) {
      case 'o':
        this.#sources[message.source].reorder.set(message.chunk, unpackItems(message.items));
        break;
      case 'wm':
        this.#sources[message.source].marks[from] = message.next;
        break;
      case 'x':
        this.#links.received(from, unpackItems(message.items));
        break;
      case 'a':
        this.#links.acknowledged(from);
        break;
    }
    this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (this.#out.blocked) {
        await this.#idle();
        continue;
      }
      if (await this.#step()) continue;
      // Nothing to do right now: ship partial batches so a slow stream still flows.
      this.#links.flush();
      this.#out.flush();
      if (!this.#sourceDoneSent && this.#sourcesDone()) {
        this.#sourceDoneSent = true;
        this.#post({ k: 'source-done' });
      }
      if (
        this.#drainRequested &&
        (this.#sourceDoneSent || this.#barrierReached()) &&
        this.#links.quiet
      ) {
        this.#drainRequested = false;
        this.#post({ k: 'drained', activity: this.#links.takeActivity() });
        continue;
      }
      if (this.#syncRequested && this.#out.idle) {
        this.#syncRequested = false;
        this.#barrier = null;
        this.#post({ k: 'synced' });
        continue;
      }
      if (this.#finishRequested && this.#sourceDoneSent && this.#links.quiet) {
        if (!this.#stateFlushed) {
          this.#stateFlushed = true;
          await this.#executor.flushState();
          continue;
        }
        if (this.#out.idle) {
          this.#stopped = true;
          this.#post({
            k: 'finished',
            nodes: this.#stats(),
            ...(this.#handover ? { state: this.#executor.handover() } : {}),
          });
          return;
        }
      }
      await this.#idle();
    }
  }

  /** Does one unit of work, most downstream first; false when there is none. */
  async #step(): Promise<boolean> {
    const fifo = this.#links.next();
    if (fifo !== undefined) {
      await this.#executor.runAt(fifo.items);
      this.#links.done(fifo.from);
      return true;
    }
    for (const state of this.#sources) {
      const items = state.reorder.get(state.nextOwn);
      if (items === undefined) continue;
      state.reorder.delete(state.nextOwn);
      if (items.length > 0) await this.#executor.runAt(items);
      state.nextOwn++;
      state.marks[this.#index] = state.nextOwn;
      this.#links.broadcast({ k: 'wm', r: this.#run, source: state.index, next: state.nextOwn });
      return true;
    }
    if (this.#links.congested) return false;
    for (const state of this.#sources) {
      const floor = Math.min(...state.marks) + WINDOW;
      if (state.spec.mode === 'push') {
        const at = state.pushed.findIndex((b) => b.seq < floor);
        if (at < 0) continue;
        const [batch] = state.pushed.splice(at, 1);
        state.stats.records_in += batch.recs.length;
        state.stats.records_out += batch.recs.length;
        await this.#runChunk(state, batch.seq, batch.recs, batch.pos);
        this.#post({ k: 'push-ack', source: state.spec.node_id, seq: batch.seq });
        return true;
      }
      if (state.readDone) continue;
      const next = Atomics.load(this.#counters, state.index);
      if (next >= state.total) {
        state.readDone = true;
        continue;
      }
      if (next >= floor) continue;
      let chunk: number;
      if (this.#limits === null) chunk = Atomics.add(this.#counters, state.index, 1);
      else {
        // An epoch's chunks only: a chunk is taken only if it is below the epoch's end.
        if (next >= this.#limits[state.index]) continue;
        if (Atomics.compareExchange(this.#counters, state.index, next, next + 1) !== next)
          return true;
        chunk = next;
      }
      if (chunk >= state.total) {
        state.readDone = true;
        continue;
      }
      const started = onCpuMs();
      const text = readChunkText(state.fd!, state.size, chunk, state.chunkBytes);
      if (text === null) {
        state.stats.busy_ms += onCpuMs() - started;
        await this.#runChunk(state, chunk, [], []);
        return true;
      }
      const { buffer, start, end, from } = text;
      // The run's first records are parsed, run and shipped before the rest of the chunk is
      // even parsed, so the first output record waits for neither (the order is the same).
      const cut = this.#firstSlice ? afterLines(buffer, start, end, FIRST_SLICE) : end;
      // The rest is copied out of the read buffer, which the next read reuses.
      const rest = cut < end ? Buffer.from(buffer.subarray(cut, end)) : null;
      const parsed = this.#parsed(state, parseLines(buffer, start, cut, from), started);
      await this.#runChunk(
        state,
        chunk,
        parsed.records,
        parsed.positions,
        rest === null
          ? undefined
          : () => this.#parsed(state, parseLines(rest, 0, rest.length, from + cut), onCpuMs()),
      );
      return true;
    }
    return false;
  }

  /** Counts a parsed piece of a file chunk (parsing began at `started`), dead-letters its bad lines. */
  #parsed(state: SourceState, parsed: ParsedChunk, started: number): ParsedChunk {
    state.stats.busy_ms += onCpuMs() - started;
    state.stats.records_in += parsed.records.length + parsed.bad.length;
    state.stats.records_out += parsed.records.length;
    const base = state.index * POSITION_SOURCE_FACTOR;
    for (const bad of parsed.bad) this.#badLine(state, bad.text, bad.error, bad.offset);
    if (base !== 0) for (let i = 0; i < parsed.positions.length; i++) parsed.positions[i] += base;
    return parsed;
  }

  /**
   * Runs the unkeyed prefix on one chunk and hands every owner its share, tagged with the
   * chunk. `rest`: the chunk's records after `recs`, parsed once `recs`' output is shipped.
   */
  async #runChunk(
    state: SourceState,
    chunk: number,
    recs: unknown[],
    pos: number[],
    rest?: () => { records: unknown[]; positions: number[] },
  ): Promise<void> {
    this.#collect = this.#peers.map(() => new Map());
    const source = state.spec.node_id;
    if (rest !== undefined) {
      await this.#executor.runSource(source, recs, pos, this.#n > 1);
      this.#out.flush();
      const more = rest();
      await this.#executor.runSource(source, more.records, more.positions, this.#n > 1);
    } else if (this.#firstSlice && recs.length > FIRST_SLICE) {
      // The run's first records go out on their own, so its first output record does not
      // wait for the rest of the chunk (the order of the output is the same).
      await this.#executor.runSource(
        source,
        recs.slice(0, FIRST_SLICE),
        pos.slice(0, FIRST_SLICE),
        this.#n > 1,
      );
      this.#out.flush();
      await this.#executor.runSource(
        source,
        recs.slice(FIRST_SLICE),
        pos.slice(FIRST_SLICE),
        this.#n > 1,
      );
    } else await this.#executor.runSource(source, recs, pos, this.#n > 1);
    this.#firstSlice = false;
    const collected = this.#collect;
    this.#collect = [];
    collected.forEach((items, p) => {
      const list = [...items.values()];
      if (p === this.#index) state.reorder.set(chunk, list);
      else
        this.#links.send(p, {
          k: 'o',
          r: this.#run,
          source: state.index,
          chunk,
          items: list,
        } satisfies PeerMessage);
    });
  }

  #sourcesDone(): boolean {
    if (!this.#pushEnded) return false;
    return this.#sources.every(
      (s) =>
        s.nextOwn >= s.total && s.pushed.length === 0 && (s.spec.mode === 'push' || s.readDone),
    );
  }

  /** Whether this thread, as an owner, has processed every pushed batch below the barrier. */
  #barrierReached(): boolean {
    const barrier = this.#barrier;
    if (barrier === null) return false;
    return this.#sources.every((s) =>
      s.spec.mode === 'push'
        ? s.nextOwn >= (barrier[s.spec.node_id] ?? 0)
        : s.nextOwn >= Math.min(s.total, barrier[s.spec.node_id] ?? Number.POSITIVE_INFINITY),
    );
  }

  #exchange(p: number, node: string, recs: unknown[], pos: number[]): void {
    if (this.#collect.length > 0) {
      // A chunk's share for one owner: the executor's arrays are kept as they are.
      const items = this.#collect[p];
      const item = items.get(node);
      if (item === undefined) items.set(node, { node, recs, pos });
      else
        for (let i = 0; i < recs.length; i++) {
          item.recs.push(recs[i]);
          item.pos.push(pos[i]);
        }
      return;
    }
    this.#links.enqueue(p, node, recs, pos);
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #stats(): Record<string, NodeStats> {
    const nodes: Record<string, NodeStats> = { ...this.#executor.stats };
    for (const [id, keys] of Object.entries(this.#executor.keyCounts()))
      if (nodes[id]) nodes[id].keys = keys;
    for (const s of this.#sources) nodes[s.spec.node_id] = s.stats;
    return nodes;
  }

  #position(position: number): Record<string, string | number> {
    const source = this.#sources[Math.floor(position / POSITION_SOURCE_FACTOR)];
    const at = position % POSITION_SOURCE_FACTOR;
    if (source === undefined) return { position: at };
    return source.spec.mode === 'file'
      ? { source: source.spec.node_id, offset: at }
      : { source: source.spec.node_id, line: at };
  }

  #deadLetter(node: string, record: unknown, error: unknown, position: number): void {
    // The stack (bounded) and the user's file:line:column say where the function failed.
    const failure = deadLetterFailure(error);
    this.#out.dead(node, {
      node_id: node,
      error: failure,
      input: this.#position(position),
      record,
    });
  }

  #badLine(state: SourceState, text: string, error: string, offset: number): void {
    const node = state.spec.node_id;
    const failure = { type: 'SyntaxError', message: error, retryable: false };
    if (state.stats.dead_lettered++ === 0)
      state.stats.first_error = { type: failure.type, message: `${error} (byte ${offset})` };
    this.#out.dead(node, {
      node_id: node,
      error: failure,
      input: { source: node, offset },
      raw: text,
    });
  }

  /** A live message that is not a record: dead-lettered with its stream sequence (or entry id). */
  #badMessage(state: SourceState, bad: LiveBadMessage): void {
    const node = state.spec.node_id;
    const failure = { type: 'SyntaxError', message: bad.error, retryable: false };
    const at = bad.id !== undefined ? { id: bad.id } : { sequence: bad.line };
    state.stats.records_in++;
    if (state.stats.dead_lettered++ === 0)
      state.stats.first_error = {
        type: failure.type,
        message: `${bad.error} (${bad.id !== undefined ? `id ${bad.id}` : `sequence ${bad.line}`})`,
      };
    const kept = (state.stats.malformed ??= []);
    if (kept.length < MALFORMED_KEPT) kept.push({ ...at, error: bad.error });
    this.#out.dead(node, {
      node_id: node,
      error: failure,
      input: { source: node, ...at },
      raw: bad.raw,
    });
  }

  #fail(error: unknown): void {
    this.#stopped = true;
    const code = error instanceof WarmflowError ? error.code : 'E_DATAPLANE';
    this.#post({
      k: 'failed',
      error: { code, message: error instanceof Error ? error.message : String(error) },
    });
  }

  #closeSources(): void {
    for (const source of this.#sources) {
      if (source.fd !== null) closeSync(source.fd);
      source.fd = null;
    }
  }
}
