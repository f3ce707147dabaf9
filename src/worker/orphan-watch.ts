import type { WorkerServer } from './worker-server.js';
import { processExists } from '../process-exists.js';

/** Configuration of an {@link OrphanWatch}. */
export interface OrphanWatchConfig {
  server: WorkerServer;
  orchestratorPid: number | undefined;
  /** Once the orchestrator is lost, how long to wait for another to adopt the worker. */
  graceMs: number;
  /** With no orchestrator watching for this long, give up (0: no such limit). */
  watchTimeoutMs: number;
  onOrphaned: (reason: string) => void;
}

/**
 * Decides when a worker has lost its orchestrator and must exit, so no worker outlives it:
 *
 * - a child loses it when the IPC channel disconnects (the parent died or let go);
 * - with `orchestratorPid`, when that process no longer exists (polled: works for non-children);
 * - with `watchTimeoutMs`, when no connection has watched heartbeats for that long (a worker in a
 *   pod has no parent to watch, only its orchestrator's heartbeat connection).
 *
 * A lost orchestrator ends the worker after `graceMs` unless another orchestrator connection is
 * watching by then (a restarted `warmflow serve` adopting its workers).
 */
export class OrphanWatch {
  readonly #config: Readonly<OrphanWatchConfig>;
  #lost: string | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #pidPoll: NodeJS.Timeout | undefined;
  readonly #onControl = (watchers: number) => this.#controlChanged(watchers);
  readonly #onDisconnect = () => this.#orchestratorLost('IPC channel closed');

  constructor(config: OrphanWatchConfig) {
    this.#config = Object.freeze({ ...config });
    config.server.on('control', this.#onControl);
    if (process.channel !== undefined) process.on('disconnect', this.#onDisconnect);
    const pid = config.orchestratorPid;
    if (pid !== undefined) {
      this.#pidPoll = setInterval(() => {
        if (!processExists(pid)) this.#orchestratorLost(`orchestrator pid ${pid} is gone`);
      }, 500);
    }
    this.#controlChanged(config.server.watchers);
  }

  /** Stops every timer (the worker is stopping anyway). */
  stop(): void {
    clearTimeout(this.#graceTimer);
    clearTimeout(this.#watchTimer);
    clearInterval(this.#pidPoll);
    this.#config.server.off('control', this.#onControl);
    process.off('disconnect', this.#onDisconnect);
  }

  #orchestratorLost(reason: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    clearInterval(this.#pidPoll);
    this.#controlChanged(this.#config.server.watchers);
  }

  #controlChanged(watchers: number): void {
    clearTimeout(this.#graceTimer);
    clearTimeout(this.#watchTimer);
    if (watchers > 0) return;
    const lost = this.#lost;
    if (lost !== undefined) {
      if (this.#config.graceMs <= 0) this.#config.onOrphaned(lost);
      else
        this.#graceTimer = setTimeout(
          () => this.#config.onOrphaned(`${lost}; nobody adopted the worker`),
          this.#config.graceMs,
        );
    }
    if (this.#config.watchTimeoutMs > 0) {
      this.#watchTimer = setTimeout(
        () =>
          this.#config.onOrphaned(`no orchestrator watched for ${this.#config.watchTimeoutMs} ms`),
        this.#config.watchTimeoutMs,
      );
    }
  }
}

/**
 * While a worker starts (its functions loading, its stores opening) nobody can adopt it: its
 * address is known to no one until it is ready. An orchestrator lost then (its IPC channel
 * closes, or `orchestratorPid` is gone) ends the worker at once, so a start that never ends (a
 * function module whose top-level code hangs) does not outlive the orchestrator that asked
 * for it. Returns the function that stops watching (once the worker serves and an
 * {@link OrphanWatch} takes over).
 */
export function exitIfOrphanedWhileStarting(
  orchestratorPid: number | undefined,
  onOrphaned: (reason: string) => void,
): () => void {
  const lost = (reason: string) => {
    stop();
    onOrphaned(reason);
  };
  const onDisconnect = () => lost('IPC channel closed while the worker was starting');
  if (process.channel !== undefined) process.on('disconnect', onDisconnect);
  const poll =
    orchestratorPid === undefined
      ? undefined
      : setInterval(() => {
          if (!processExists(orchestratorPid))
            lost(`orchestrator pid ${orchestratorPid} is gone while the worker was starting`);
        }, 500);
  poll?.unref();
  function stop(): void {
    clearInterval(poll);
    process.off('disconnect', onDisconnect);
  }
  return stop;
}
