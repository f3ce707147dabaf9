import { WarmflowError } from '../errors.js';
import type { Rac } from '../provision/rac.js';
import type { WorkerClient } from '../worker/client.js';
import type { EventMessage, Frame, ResponseOk } from '../worker/protocol.js';
import {
  splitDeploySpec,
  type DeploySpec,
  type RunResult,
} from '../worker/dataplane/deploy-spec.js';
import type { PushBatch } from './push-feeder.js';
import type { SinkFiles } from './sinks.js';
import { ResourceError } from './resource-error.js';

/** Pushed batches a session may have unacknowledged per source. */
const PUSH_CREDITS = 8;

/** A pushed source's batches and records the resource has not processed yet. */
interface Credit {
  inflight: number;
  records: number;
  waiters: Array<() => void>;
}

/**
 * The orchestrator's side of one resource during one run: sends `df.run`, writes the
 * resource's output batches to the sinks (acknowledging each once written), pushes source
 * batches with credits, and resolves with the resource's figures — or rejects, promptly,
 * when the worker goes away (its connection closes), naming the resource and its nodes.
 *
 * A stall watchdog rejects the run with `E_STALLED` when the resource makes no progress for
 * `stallTimeoutMs`. Progress is an output batch, a push acknowledgement, the deploy or
 * first-write notice, or a `df.progress` frame whose count advanced (the worker counts
 * its threads' messages and the file chunks they took). The clock does not run while the
 * resource waits for the orchestrator's input (pushed sources not ended, nothing in
 * flight: stdin or a slow `--rate` replay), nor while this process itself was frozen.
 */
export class ResourceSession {
  readonly rac: Rac;
  readonly warm: boolean;
  readonly #client: WorkerClient;
  readonly #spec: DeploySpec;
  readonly #sinks: SinkFiles;
  readonly #onFrame: (frame: Frame<EventMessage>) => void;
  readonly #onClose: (error: Error | undefined) => void;
  readonly #credits = new Map<string, Credit>();
  /** Epoch ms (sub-ms precision) at which the resource said the run was deployed. */
  readyAt: number | null = null;
  /** Epoch ms at which the resource reported its first write to a store. */
  firstStoreWriteAt: number | null = null;
  #closedReason: string | null = null;
  /** Why the run failed without the connection closing (a stall, a sink): pushes stop too. */
  #runError: Error | null = null;
  #failRun: ((error: Error) => void) | null = null;
  /** 0: no stall watchdog. */
  readonly #stallMs: number;
  readonly #pushes: boolean;
  #ended = false;
  /** `performance.now()` of the last progress. */
  #lastProgressAt = 0;
  /** Figures for the stall message, and the worker's last `df.progress` count. */
  #workerProgress = -1;
  #chunks = 0;
  #recordsOut = 0;
  #pushedRecords = 0;
  readonly #pushSizes = new Map<string, number>();
  readonly #payload: Buffer | undefined;
  readonly #onCheckpoint: CheckpointHandler | undefined;
  /** Called when the resource reports the run deployed. */
  onDeployed: (() => void) | null = null;
  /** Chunks of each file source the resource had taken at its last `df.progress`. */
  taken: number[] = [];
  /**
   * The keyed state the resource handed over at the end of a run deployed with `handover`
   * (`{node: [[item key, value]…]}` as JSON), for the next resource of a resized run.
   */
  handedOver: Buffer | null = null;

  constructor(options: {
    client: WorkerClient;
    rac: Rac;
    warm: boolean;
    spec: DeploySpec;
    sinks: SinkFiles;
    /** Fail the run after this long without progress; 0 or absent: never. */
    stallTimeoutMs?: number;
    /** Payload of `df.run`: the checkpointed keyed state a resumed run restores. */
    payload?: Buffer;
    /** Records a checkpoint the resource reports; it goes on once this resolves. */
    onCheckpoint?: CheckpointHandler;
  }) {
    this.#payload = options.payload;
    this.#onCheckpoint = options.onCheckpoint;
    this.#client = options.client;
    this.rac = options.rac;
    this.warm = options.warm;
    this.#spec = options.spec;
    this.#sinks = options.sinks;
    this.#stallMs = options.stallTimeoutMs ?? 0;
    this.#pushes = options.spec.sources.some((s) => s.mode === 'push');
    this.#onFrame = (frame) => this.#handle(frame);
    this.#onClose = (error) => {
      this.#closedReason = error?.message ?? 'connection closed';
      this.#failRun?.(this.#deathError(this.#closedReason));
    };
  }

  /** Pushed records the resource has processed (acknowledged) so far. */
  get pushedProcessed(): number {
    return this.#pushedRecords;
  }

  /** Runs the deployed spec; resolves with the resource's figures once it is over. */
  async run(): Promise<RunResult> {
    let stopWatchdog = (): void => {};
    this.#client.on('message', this.#onFrame);
    this.#client.on('close', this.#onClose);
    try {
      if (this.#client.closed) throw this.#deathError('its connection was already closed');
      const died = new Promise<never>((_, reject) => (this.#failRun = reject));
      stopWatchdog = this.#watch();
      const frame = await Promise.race([this.#deploy(), died]);
      if (this.#spec.handover === true) this.handedOver = frame.payload ?? null;
      return frame.message.result;
    } catch (error) {
      if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
      this.#runError = error as Error;
      throw error;
    } finally {
      stopWatchdog();
      this.#failRun = null;
      this.#client.off('message', this.#onFrame);
      this.#client.off('close', this.#onClose);
      for (const credit of this.#credits.values())
        for (const wake of credit.waiters.splice(0)) wake();
    }
  }

  /**
   * Sends `df.run` and resolves with its answer. A worker that holds the spec's template
   * (sent whole over this connection before) gets only the run part; one that answers it no
   * longer holds it gets the spec whole.
   */
  async #deploy(): Promise<Frame<ResponseOk<'df.run'>>> {
    const id = this.#spec.template_id;
    // A checkpointed run of files only can be taken by the threads straight from their channels
    // (its first epoch is read before the main thread has handed it over, nothing of it
    // commits before then); the others wait for the worker's main thread.
    const resume = this.#spec.checkpoint?.resume;
    const toThreads =
      this.#spec.checkpoint !== undefined &&
      resume === undefined &&
      this.#spec.handover !== true &&
      this.#spec.sources.every((source) => source.mode === 'file');
    const send = (whole: boolean) => {
      const request = {
        type: 'df.run' as const,
        spec:
          whole || id === undefined
            ? this.#spec
            : { ...splitDeploySpec(this.#spec).run, template_id: id },
        // Checkpointed runs report more often: a recovery says how far the dead one had read.
        progress_interval_ms: Math.min(
          progressInterval(this.#stallMs),
          Math.max(100, (this.#spec.checkpoint?.interval_ms ?? Infinity) / 2),
        ),
        // Each thread sends its output over its own channel, when this client opened them.
        ...(this.#client.outChannel !== undefined ? { out: this.#client.outChannel } : {}),
      };
      return toThreads && !whole && id !== undefined && this.#client.outChannel !== undefined
        ? this.#client.run(request, this.#payload)
        : this.#client.request(request, this.#payload);
    };
    if (id === undefined || !this.#client.templates.has(id)) {
      if (id !== undefined) this.#client.templates.add(id);
      return send(true);
    }
    try {
      return await send(false);
    } catch (error) {
      if (!(error instanceof WarmflowError) || error.code !== 'E_UNKNOWN_VERSION') throw error;
      return send(true);
    }
  }

  /**
   * Sends one source batch once the resource has credit for it: fewer than
   * {@link PUSH_CREDITS} of the source's batches unprocessed and, with `maxAhead`, the
   * batch's records within that many unprocessed records of the source (a batch goes
   * anyway when nothing is pushed ahead of it).
   */
  async push(batch: PushBatch, maxAhead?: number): Promise<void> {
    const credit = this.#credit(batch.source);
    while (
      (credit.inflight >= PUSH_CREDITS ||
        (maxAhead !== undefined &&
          credit.inflight > 0 &&
          credit.records + batch.records > maxAhead)) &&
      this.#closedReason === null &&
      this.#runError === null
    ) {
      await new Promise<void>((resolve) => credit.waiters.push(resolve));
    }
    if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
    if (this.#runError !== null) throw this.#runError;
    // The resource was waiting for input: its clock starts now.
    if (this.#awaitingInput()) this.#progressed();
    credit.inflight++;
    credit.records += batch.records;
    this.#pushSizes.set(`${batch.source}\u0000${batch.seq}`, batch.records);
    try {
      this.#client.send({ type: 'df.batch', source: batch.source, seq: batch.seq }, batch.payload);
      if (this.#client.writableNeedDrain) await this.#client.drain();
    } catch (error) {
      // A write to a worker that went away fails (EPIPE, ECONNRESET) before its close is seen.
      throw this.#deathError(this.#closedReason ?? (error as Error).message);
    }
  }

  /** Tells the resource that every source is done, with each pushed source's batch count. */
  end(counts: Record<string, number>): void {
    if (this.#awaitingInput()) this.#progressed();
    this.#ended = true;
    // A run that reads only files is told nothing: its threads know their sources' ends.
    if (
      !this.#client.closed &&
      this.#runError === null &&
      this.#spec.sources.some((s) => s.mode === 'push')
    )
      this.#client.send({ type: 'df.end', counts });
  }

  /**
   * A commit point of a live run: resolves once the resource has processed every batch
   * pushed so far (`counts`: batches per source) and the orchestrator has written every
   * output they produced. Push nothing to this resource until it resolves. With `epoch` (a
   * checkpointed live run) the batches since the last commit are that epoch: it resolves once
   * the resource committed it to its stores and its checkpoint was recorded.
   */
  async commit(counts: Record<string, number>, epoch?: number): Promise<void> {
    if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
    if (this.#runError !== null) throw this.#runError;
    try {
      await this.#client.request({
        type: 'df.commit',
        counts,
        ...(epoch !== undefined ? { epoch } : {}),
      });
    } catch (error) {
      // The connection closing rejects the request: say it as the resource's death.
      if (this.#closedReason !== null || this.#client.closed)
        throw this.#deathError(this.#closedReason ?? 'connection closed');
      throw error;
    }
    if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
  }

  /** Asks the resource to stop the run. */
  cancel(): void {
    if (!this.#client.closed) this.#client.send({ type: 'df.cancel' });
  }

  #credit(source: string): Credit {
    let credit = this.#credits.get(source);
    if (credit === undefined)
      this.#credits.set(source, (credit = { inflight: 0, records: 0, waiters: [] }));
    return credit;
  }

  #handle(frame: Frame<EventMessage>): void {
    const message = frame.message;
    switch (message.type) {
      case 'df.out': {
        const thread = message.thread;
        // Output of an earlier run on this resource (cancelled before all of it arrived).
        const execution = this.#spec.execution_id;
        if (message.execution_id !== undefined && message.execution_id !== execution) return;
        // Output means the run is deployed on a thread: a thread that took the run from its
        // channel sends its first output before the worker's main thread says `df.deployed`.
        this.readyAt ??= preciseNow();
        this.#recordsOut += message.count;
        this.#progressed();
        void this.#sinks
          .write(message.data_type, message.count, frame.payload ?? Buffer.alloc(0))
          .then(
            () => {
              if (!this.#client.closed)
                this.#client.send({ type: 'df.out-ack', thread, execution_id: execution });
            },
            (error: unknown) =>
              this.#failRun?.(
                new WarmflowError('E_SINK', `cannot write output: ${(error as Error).message}`),
              ),
          );
        return;
      }
      case 'df.ack': {
        const credit = this.#credit(message.source);
        const id = `${message.source}\u0000${message.seq}`;
        const records = this.#pushSizes.get(id) ?? 0;
        this.#pushedRecords += records;
        this.#pushSizes.delete(id);
        this.#progressed();
        credit.inflight--;
        credit.records -= records;
        credit.waiters.shift()?.();
        return;
      }
      case 'df.deployed':
        this.readyAt ??= preciseNow();
        this.#progressed();
        this.onDeployed?.();
        return;
      case 'df.first-write':
        this.firstStoreWriteAt ??= preciseNow();
        this.#progressed();
        return;
      case 'df.checkpoint': {
        this.#progressed();
        const handler = this.#onCheckpoint;
        if (handler === undefined) {
          this.#failRun?.(new WarmflowError('E_PROTOCOL', 'a checkpoint nobody asked for'));
          return;
        }
        void handler(message, frame.payload ?? Buffer.alloc(0)).then(
          () => {
            this.#progressed();
            if (!this.#client.closed)
              this.#client.send({ type: 'df.checkpointed', epoch: message.epoch });
          },
          (error: unknown) =>
            this.#failRun?.(
              new WarmflowError(
                'E_CHECKPOINT',
                `cannot record checkpoint ${String(message.epoch)}: ${(error as Error).message}`,
                { cause: error },
              ),
            ),
        );
        return;
      }
      case 'df.progress': {
        if (message.taken !== undefined) this.taken = message.taken;
        if (message.progress <= this.#workerProgress) return;
        this.#workerProgress = message.progress;
        this.#chunks = message.chunks;
        this.#progressed();
        return;
      }
      default:
        return;
    }
  }

  #progressed(): void {
    this.#lastProgressAt = performance.now();
  }

  /** True while the resource can only be waiting for pushed input the orchestrator has not sent. */
  #awaitingInput(): boolean {
    if (!this.#pushes || this.#ended) return false;
    for (const credit of this.#credits.values()) if (credit.inflight > 0) return false;
    return true;
  }

  /** Starts the stall watchdog; returns its stop. */
  #watch(): () => void {
    const limit = this.#stallMs;
    if (!(limit > 0)) return () => {};
    const every = Math.min(1000, Math.max(50, Math.round(limit / 10)));
    this.#progressed();
    let lastTick = performance.now();
    let verdict: NodeJS.Immediate | undefined;
    const stalled = (): boolean =>
      !this.#awaitingInput() && performance.now() - this.#lastProgressAt >= limit;
    const timer = setInterval(() => {
      const now = performance.now();
      // Time this process was frozen (a blocked event loop, a descheduled process under
      // heavy load) is not the resource's: frames may be waiting unread. Don't count it.
      const frozen = now - lastTick - every;
      if (frozen > every) this.#lastProgressAt += frozen;
      lastTick = now;
      if (this.#awaitingInput()) this.#progressed();
      if (!stalled() || verdict !== undefined) return;
      // Decide after the poll phase, so frames that already arrived are counted first.
      verdict = setImmediate(() => {
        verdict = undefined;
        if (stalled()) this.#failRun?.(this.#stallError(limit));
      });
    }, every);
    return () => {
      clearInterval(timer);
      if (verdict !== undefined) clearImmediate(verdict);
    };
  }

  #stallError(limit: number): WarmflowError {
    const nodes = this.#functionNodes();
    const done = [
      this.#chunks > 0 ? plural(this.#chunks, 'input chunk') + ' read' : '',
      this.#pushedRecords > 0 ? plural(this.#pushedRecords, 'pushed record') + ' processed' : '',
      plural(this.#recordsOut, 'record') + ' output',
    ].filter((part) => part !== '');
    return new ResourceError(
      'E_STALLED',
      `${this.#who(nodes)} made no progress for ${seconds(limit)} (${this.readyAt === null ? 'not deployed yet; ' : ''}last progress: ${done.join(', ')}); if a function legitimately waits that long, raise stall_timeout_ms or WARMFLOW_STALL_TIMEOUT_MS (0 disables the watchdog)`,
      { resource_id: this.rac.resource_id, node_id: nodes[0] ?? this.rac.node_id },
      {
        hint: `a function may be awaiting something that never answers (see the worker log under WARMFLOW_HOME/workers); the default timeout is ${DEFAULT_STALL_TIMEOUT_MS} ms`,
      },
    );
  }

  /** `resource R running nodes "a", "b"`, for error messages. */
  #who(nodes: string[]): string {
    return `resource ${this.rac.resource_id} running node${nodes.length === 1 ? '' : 's'} ${nodes.map((n) => `"${n}"`).join(', ')}`;
  }

  /** The function nodes this resource runs. */
  #functionNodes(): string[] {
    return this.rac.node_ids.filter((id) =>
      this.#spec.template.nodes.some((n) => n.id === id && n.kind === 'function'),
    );
  }

  #deathError(reason: string): ResourceError {
    const nodes = this.#functionNodes();
    return new ResourceError(
      'E_RESOURCE_DIED',
      `${this.#who(nodes)} went away mid-run: ${reason}`,
      { resource_id: this.rac.resource_id, node_id: nodes[0] ?? this.rac.node_id },
      {
        hint: 'see the worker log under WARMFLOW_HOME/workers; a worker over its memory limit is killed (raise memory_gb)',
      },
    );
  }
}

/** Records a checkpoint a resource reports (`df.checkpoint` and its payload, the state changes). */
export type CheckpointHandler = (
  message: EventMessage<'df.checkpoint'>,
  payload: Buffer,
) => Promise<void>;

/** Default stall timeout: generous, a function awaiting something slow for minutes is the only false positive. */
export const DEFAULT_STALL_TIMEOUT_MS = 120_000;

/** How often the worker reports progress for a watchdog of `stallMs`: a few times per timeout, at most every second. */
function progressInterval(stallMs: number): number {
  return stallMs > 0 ? Math.max(100, Math.min(1000, Math.round(stallMs / 4))) : 1000;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1))} s`;
}

/** Epoch milliseconds with sub-millisecond precision. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
