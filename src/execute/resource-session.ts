import { WarmflowError } from '../errors.js';
import type { Rac } from '../provision/rac.js';
import type { WorkerClient } from '../worker/client.js';
import type { Frame } from '../worker/protocol.js';
import type { DeploySpec, RunResult } from '../worker/dataplane/deploy-spec.js';
import type { PushBatch } from './push-feeder.js';
import type { SinkFiles } from './sinks.js';

/** Pushed batches a session may have unacknowledged per source. */
const PUSH_CREDITS = 8;

/**
 * The orchestrator's side of one resource during one run: sends `df.run`, writes the
 * resource's output batches to the sinks (acknowledging each once written), pushes source
 * batches with credits, and resolves with the resource's figures — or rejects, promptly,
 * when the worker goes away (its connection closes), naming the resource and its nodes.
 */
export class ResourceSession {
  readonly rac: Rac;
  readonly warm: boolean;
  readonly #client: WorkerClient;
  readonly #spec: DeploySpec;
  readonly #sinks: SinkFiles;
  readonly #onFrame: (frame: Frame) => void;
  readonly #onClose: (error: Error | undefined) => void;
  readonly #credits = new Map<string, { inflight: number; waiters: Array<() => void> }>();
  /** Epoch ms (sub-ms precision) at which the resource said the run was deployed. */
  readyAt: number | null = null;
  /** Epoch ms at which the resource reported its first write to a store. */
  firstStoreWriteAt: number | null = null;
  #closedReason: string | null = null;
  #failRun: ((error: Error) => void) | null = null;

  constructor(options: {
    client: WorkerClient;
    rac: Rac;
    warm: boolean;
    spec: DeploySpec;
    sinks: SinkFiles;
  }) {
    this.#client = options.client;
    this.rac = options.rac;
    this.warm = options.warm;
    this.#spec = options.spec;
    this.#sinks = options.sinks;
    this.#onFrame = (frame) => this.#handle(frame);
    this.#onClose = (error) => {
      this.#closedReason = error?.message ?? 'connection closed';
      this.#failRun?.(this.#deathError(this.#closedReason));
    };
  }

  /** Runs the deployed spec; resolves with the resource's figures once it is over. */
  async run(): Promise<RunResult> {
    this.#client.on('message', this.#onFrame);
    this.#client.on('close', this.#onClose);
    try {
      if (this.#client.closed) throw this.#deathError('its connection was already closed');
      const died = new Promise<never>((_, reject) => (this.#failRun = reject));
      const request = this.#client.request({ type: 'df.run', spec: this.#spec });
      const frame = await Promise.race([request, died]);
      return frame.message.result as RunResult;
    } catch (error) {
      if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
      throw error;
    } finally {
      this.#failRun = null;
      this.#client.off('message', this.#onFrame);
      this.#client.off('close', this.#onClose);
      for (const credit of this.#credits.values())
        for (const wake of credit.waiters.splice(0)) wake();
    }
  }

  /** Sends one source batch once the resource has credit for it. */
  async push(batch: PushBatch): Promise<void> {
    const credit = this.#credit(batch.source);
    while (credit.inflight >= PUSH_CREDITS && this.#closedReason === null) {
      await new Promise<void>((resolve) => credit.waiters.push(resolve));
    }
    if (this.#closedReason !== null) throw this.#deathError(this.#closedReason);
    credit.inflight++;
    this.#client.send({ type: 'df.batch', source: batch.source, seq: batch.seq }, batch.payload);
    if (this.#client.writableNeedDrain) await this.#client.drain();
  }

  /** Tells the resource that every source is done, with each pushed source's batch count. */
  end(counts: Record<string, number>): void {
    if (!this.#client.closed) this.#client.send({ type: 'df.end', counts });
  }

  /** Asks the resource to stop the run. */
  cancel(): void {
    if (!this.#client.closed) this.#client.send({ type: 'df.cancel' });
  }

  #credit(source: string): { inflight: number; waiters: Array<() => void> } {
    let credit = this.#credits.get(source);
    if (credit === undefined) this.#credits.set(source, (credit = { inflight: 0, waiters: [] }));
    return credit;
  }

  #handle(frame: Frame): void {
    const message = frame.message;
    switch (message.type) {
      case 'df.out': {
        const thread = message.thread;
        void this.#sinks
          .write(String(message.data_type), Number(message.count), frame.payload ?? Buffer.alloc(0))
          .then(
            () => {
              if (!this.#client.closed) this.#client.send({ type: 'df.out-ack', thread });
            },
            (error: unknown) =>
              this.#failRun?.(
                new WarmflowError('E_SINK', `cannot write output: ${(error as Error).message}`),
              ),
          );
        return;
      }
      case 'df.ack': {
        const credit = this.#credit(String(message.source));
        credit.inflight--;
        credit.waiters.shift()?.();
        return;
      }
      case 'df.deployed':
        this.readyAt = preciseNow();
        return;
      case 'df.first-write':
        this.firstStoreWriteAt ??= preciseNow();
        return;
      default:
        return;
    }
  }

  #deathError(reason: string): WarmflowError {
    const nodes = this.rac.node_ids.filter((id) =>
      this.#spec.template.nodes.some((n) => n.id === id && n.kind === 'function'),
    );
    const error = new WarmflowError(
      'E_RESOURCE_DIED',
      `resource ${this.rac.resource_id} running node${nodes.length === 1 ? '' : 's'} ${nodes.map((n) => `"${n}"`).join(', ')} went away mid-run: ${reason}`,
      {
        hint: 'see the worker log under WARMFLOW_HOME/workers; a worker over its memory limit is killed (raise memory_gb)',
      },
    );
    (error as WarmflowError & { node_id?: string }).node_id = nodes[0] ?? this.rac.node_id;
    return error;
  }
}

/** Epoch milliseconds with sub-millisecond precision. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
