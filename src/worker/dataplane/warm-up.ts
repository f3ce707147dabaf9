import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Template } from '../../template/types.js';
import type { WorkerConnection, WorkerLog } from '../dataplane-contract.js';
import type { DeployRequest, EventMessage } from '../protocol.js';
import type { DeploySpec } from './deploy-spec.js';
import { ResourceRun } from './resource-run.js';
import type { RunStores } from './run-stores.js';
import type { ThreadPool } from './thread-pool.js';
import { warmUpLine } from './warm-up-functions.js';

/**
 * Records of the warm-up run's input file (~10 MB). Measured on a resource of two threads:
 * with 20,000 the first real run still took 27,000 page faults and ran at 0.5 of the next
 * ones, with 50,000 14,000 faults; with 100,000 about 1,400 (as the next runs) and 0.8–0.85
 * of their speed. Two or three warm-up runs gained nothing more.
 */
const WARM_UP_RECORDS = 100_000;
/** Records of the short run made first (see `#runAll`). */
const WARM_UP_FIRST_RECORDS = 2_000;
/** Records of the input written between two turns of the event loop (~1-2 ms of work). */
const WARM_UP_SLICE = 2_000;

/** The warm-up flow: records -> shape -> keep -> tally (keyed, `ctx.state`), nothing written. */
const TEMPLATE: Template = {
  name: 'warmflow-warm-up',
  nodes: [
    { id: 'source:records', kind: 'source', type: 'WarmUpRecord' },
    { id: 'shape', kind: 'function' },
    { id: 'keep', kind: 'function' },
    { id: 'tally', kind: 'function', key: 'key', state: ['n'] },
    { id: 'write:WarmUpTally', kind: 'write', type: 'WarmUpTally' },
  ],
  edges: [
    { from: 'source:records', to: 'shape', type: 'WarmUpRecord' },
    { from: 'shape', to: 'keep', type: 'Shaped' },
    { from: 'keep', to: 'tally', type: 'Kept' },
    { from: 'tally', to: 'write:WarmUpTally', type: 'WarmUpTally' },
  ],
  transactions: [{ function: 'tally', reads: [], writes: ['write:WarmUpTally'] }],
};

/**
 * The warm-up of a warm pool's resource: once its threads are warm, and before any request,
 * it runs warmflow's own flow ({@link WARM_UP_FUNCTIONS}: map, filter, keyed state,
 * checkpointed, over a synthetic JSONL file) through the real data plane once. The
 * first run of a freshly started resource otherwise pays for its heap (V8 grows the young
 * generation and the old space as the run goes; on a VM each new page is a fault), the
 * string table and the compilation of the data plane's hot code — it ran at about half the
 * speed of later runs. A request arriving meanwhile stops it first: the threads drop the
 * warm-up run between two chunks and say so ({@link stop}), then the request's run deploys.
 */
export class WarmUp {
  readonly #pool: ThreadPool;
  readonly #stores: RunStores;
  readonly #log: WorkerLog;
  readonly #file: string;
  #run: ResourceRun | null = null;
  /** Set once {@link stop} is called: no further warm-up run starts. */
  #stopRequested = false;
  #stopping: Promise<void> | null = null;
  /** Whether the input is being written (the run is made after). */
  #writing = false;
  #done: Promise<void> = Promise.resolve();

  constructor(options: {
    pool: ThreadPool;
    stores: RunStores;
    log: WorkerLog;
    resourceId: string;
  }) {
    this.#pool = options.pool;
    this.#stores = options.stores;
    this.#log = options.log;
    this.#file = path.join(os.tmpdir(), `warmflow-warm-up-${options.resourceId}.jsonl`);
  }

  /** Starts the warm-up run; resolves when it is over (on its own or at {@link stop}). */
  start(): Promise<void> {
    this.#done = this.#runAll().catch((error: unknown) =>
      this.#log.warn({ error: (error as Error).message }, 'warm-up failed'),
    );
    return this.#done;
  }

  /**
   * Stops the warm-up: the current run is dropped on every thread, and this resolves once
   * each thread said it stopped (nothing of the warm-up run comes after), so the next run
   * can take the threads. Resolves at once when the warm-up is over.
   */
  stop(): Promise<void> {
    if (this.#stopping === null) {
      this.#stopRequested = true;
      this.#stopping = this.#stop();
    }
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#writing) {
      // Writing an input: it stops at the next slice, and no further warm-up run is made.
      await this.#done;
      this.#log.info({ phase: 'input' }, 'warm-up stopped for a run');
      return;
    }
    const run = this.#run;
    if (run !== null && !run.done) {
      const threads = this.#pool.threads.length;
      const stopped = new Promise<void>((resolve) => {
        let left = threads;
        this.#pool.listen(
          (_index, message) => {
            if (message.k === 'stopped' && --left === 0) resolve();
          },
          () => resolve(),
        );
      });
      run.fail(new Error('warm-up stopped for a run'));
      this.#pool.broadcast({ k: 'cancel', stopped: true });
      await stopped;
      this.#log.info({ phase: 'run' }, 'warm-up stopped for a run');
    }
    await this.#done;
  }

  async #runAll(): Promise<void> {
    const started = performance.now();
    try {
      // A short run first, its input written in two slices: the data plane's per-record code
      // is compiled before a request that comes right after the resource is ready stops the
      // warm-up (such a request then finds the longer run's input being written).
      for (const records of [WARM_UP_FIRST_RECORDS, WARM_UP_RECORDS]) {
        if (!(await this.#writeInput(records)) || this.#stopRequested) break;
        await this.#once();
        if (this.#stopRequested) break;
      }
    } finally {
      rmSync(this.#file, { force: true });
    }
    if (!this.#stopRequested)
      this.#log.info(
        { records: WARM_UP_RECORDS, ms: Math.round(performance.now() - started) },
        'data plane warmed up',
      );
  }

  /**
   * Writes the warm-up's input a slice at a time, yielding to the event loop between slices:
   * written at once it held the worker's main thread ~50-100 ms, and a request arriving right
   * after the resource was ready waited that long for its `df.run` to be read. False when a
   * stop came first (the input is left unfinished, and the run is not made).
   */
  async #writeInput(records: number): Promise<boolean> {
    const fd = openSync(this.#file, 'w', 0o600);
    this.#writing = true;
    try {
      for (let from = 0; from < records; from += WARM_UP_SLICE) {
        if (this.#stopRequested) return false;
        const lines: string[] = [];
        for (let i = from; i < Math.min(records, from + WARM_UP_SLICE); i++)
          lines.push(warmUpLine(i));
        writeSync(fd, lines.join('\n') + '\n');
        await new Promise((resolve) => setImmediate(resolve));
      }
      return true;
    } finally {
      this.#writing = false;
      closeSync(fd);
    }
  }

  /** The warm-up run; resolves when it ends (or is stopped). */
  #once(): Promise<void> {
    const spec: DeploySpec = {
      execution_id: 'warm-up',
      template_id: 'warmflow-warm-up',
      template: TEMPLATE,
      node_ids: TEMPLATE.nodes.map((node) => node.id),
      type_keys: {},
      type_stores: {},
      seeds: [],
      stores: {},
      state_stores: {},
      sources: [
        { mode: 'file', node_id: 'source:records', type: 'WarmUpRecord', path: this.#file },
      ],
      checkpoint: { writer: 'warm-up', interval_ms: 1000 },
    };
    const request: DeployRequest = { type: 'df.run', id: 0, spec };
    return new Promise<void>((resolve) => {
      const connection = localConnection({
        onCheckpoint: (epoch) =>
          queueMicrotask(() => run.handle({ type: 'df.checkpointed', epoch }, undefined)),
        onEnd: resolve,
        onFail: (error) => {
          if (run.yielded) {
            // A thread took a request's run from its channel: no more warm-up runs.
            this.#stopRequested = true;
            this.#log.info({ phase: 'taken' }, 'warm-up stopped for a run');
          } else if (!this.#stopRequested)
            this.#log.warn({ error: (error as Error).message }, 'warm-up run failed');
        },
      });
      const run = new ResourceRun({
        pool: this.#pool,
        connection,
        request,
        spec,
        stores: this.#stores,
        warmUp: true,
        onEnd: resolve,
      });
      this.#run = run;
      void run.start().catch((error: unknown) => run.fail(error));
    });
  }
}

/**
 * The connection a warm-up run answers to: its output is dropped (it writes none), its
 * checkpoints are acknowledged at once (nothing to record), and its end resolves the run.
 */
function localConnection(handlers: {
  onCheckpoint: (epoch: number) => void;
  onEnd: () => void;
  onFail: (error: unknown) => void;
}): WorkerConnection {
  return {
    id: -1,
    remoteAddress: 'warm-up',
    closed: false,
    writableNeedDrain: false,
    send(message: EventMessage) {
      if (message.type === 'df.checkpoint') handlers.onCheckpoint(message.epoch);
      return true;
    },
    reply() {
      handlers.onEnd();
      return true;
    },
    fail(_request, error: unknown) {
      handlers.onFail(error);
      handlers.onEnd();
      return true;
    },
    drain: () => Promise.resolve(),
    onClose() {},
  };
}
