import { WarmflowError } from '../../errors.js';
import { WorkerClient } from '../../worker/client.js';
import type { ResourceUsage } from '../provider.js';

/** Configuration of a {@link WorkerLink}. */
export interface WorkerLinkConfig {
  /** `podIP:port`. */
  address: string;
  token: string;
  heartbeatMs: number;
  onUsage(usage: ResourceUsage): void;
  /** The connection dropped or went silent (the link keeps trying to reconnect). */
  onLost(reason: string): void;
  /** Heartbeats flow again after a loss. */
  onBack(): void;
}

/**
 * The orchestrator's line to one worker pod, as the local provider keeps one to each worker
 * process: authenticated with the pool token (so a RAC is only confirmed for a worker that
 * accepts it), watching heartbeats (turned into `usage` events, from which history learns
 * the measured CPU and memory), reconnecting after a drop. Kubernetes tells when a pod dies;
 * this tells when a live pod stops answering.
 */
export class WorkerLink {
  readonly #config: Readonly<WorkerLinkConfig>;
  #client: WorkerClient | undefined;
  #closed = false;
  #lost = false;
  #lastBeat = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(config: WorkerLinkConfig) {
    this.#config = Object.freeze({ ...config });
  }

  /**
   * Connects, says hello with the token and starts watching heartbeats. Rejects with
   * `E_K8S_WORKER_UNREACHABLE` (and stays closed) when the worker cannot be reached or
   * refuses the token.
   */
  async open(timeoutMs = 10_000): Promise<void> {
    try {
      await this.#open(timeoutMs);
    } catch (error) {
      this.close();
      throw new WarmflowError(
        'E_K8S_WORKER_UNREACHABLE',
        `the worker at ${this.#config.address} is Ready but did not accept the pool token: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
          hint: 'the orchestrator must reach pod IPs (run it in the cluster, or route to the pod network and set orchestrator.cidr)',
        },
      );
    }
  }

  async #open(timeoutMs: number): Promise<void> {
    const client = await WorkerClient.connect(this.#config.address, this.#config.token, {
      timeoutMs,
    });
    if (this.#closed) {
      client.close();
      return;
    }
    this.#client = client;
    this.#lastBeat = Date.now();
    client.on('message', ({ message }) => {
      if (message.type !== 'heartbeat') return;
      this.#lastBeat = Date.now();
      if (this.#lost) {
        this.#lost = false;
        this.#config.onBack();
      }
      this.#config.onUsage(message.usage);
    });
    client.on('close', () => {
      if (this.#closed || this.#client !== client) return;
      this.#client = undefined;
      this.#lose('lost the connection to the worker');
    });
    await client.request({ type: 'watch', interval_ms: this.#config.heartbeatMs });
    this.#timer ??= setInterval(() => this.#check(), this.#config.heartbeatMs);
    this.#timer.unref();
  }

  /** Stops watching and closes the connection. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined || client.closed) return;
    // Stop the worker's heartbeat timer before hanging up: the worker's heartbeat can fire in
    // the moment between its socket being destroyed and its close event, and sending then throws
    // inside the worker (reported to the worker's owner; harmless to stop it here anyway).
    client.request({ type: 'watch', interval_ms: 2 ** 31 - 1 }).catch(() => undefined);
    client.close();
  }

  #check(): void {
    if (this.#closed) return;
    if (this.#client === undefined) {
      this.#open(10_000).catch(() => undefined); // try again next tick
      return;
    }
    const silentFor = Date.now() - this.#lastBeat;
    if (silentFor > 3 * this.#config.heartbeatMs) this.#lose(`no heartbeat for ${silentFor} ms`);
  }

  #lose(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#config.onLost(reason);
  }
}
