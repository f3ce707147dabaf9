import type { LiveBatch, LiveSource } from '../sources/live/live-source.js';
import type { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/** How often a live run commits (acknowledges what is done) at the latest. */
export const COMMIT_INTERVAL_MS = 1000;

/**
 * The acknowledgement point of a live run, shared by its live feeders. A commit closes the
 * gate (no feeder pushes), waits for the pushes under way, asks every resource to process
 * everything pushed so far and hand back every output (`df.commit`), opens the gate again
 * (later pushes are not part of it), fsyncs the sinks, and only then acknowledges the
 * stream messages behind those outputs. A crash before that
 * leaves them unacknowledged, to be redelivered to the next run of the group
 * (at-least-once). Checkpointing keyed state at the same point is what exactly-once adds.
 */
export class LiveCommit {
  readonly #sessions: readonly ResourceSession[];
  readonly #sinks: SinkFiles;
  /** Batches pushed per session and source, the barrier a commit sends. */
  readonly #counts = new Map<ResourceSession, Record<string, number>>();
  #pending: LiveBatch[] = [];
  #pendingMessages = 0;
  #committing: Promise<void> | null = null;
  /** Closed from the start of a commit until every resource has answered it. */
  #gateClosed = false;
  #inside = 0;
  #wakeCommitter: (() => void) | null = null;
  #waiters: Array<() => void> = [];
  #lastCommitAt = performance.now();
  #failure: Error | null = null;
  readonly #lags: Record<string, number | null> = {};
  acknowledged = 0;
  commits = 0;
  /** The live sources of the run, by source node. */
  readonly sources = new Map<string, LiveSource>();

  constructor(sessions: readonly ResourceSession[], sinks: SinkFiles) {
    this.#sessions = sessions;
    this.#sinks = sinks;
  }

  /** Messages read but not acknowledged yet. */
  get unacknowledged(): number {
    return this.#pendingMessages;
  }

  /** Whether the last commit is older than `intervalMs`. */
  due(intervalMs = COMMIT_INTERVAL_MS): boolean {
    return this.#pendingMessages > 0 && performance.now() - this.#lastCommitAt >= intervalMs;
  }

  /** Waits until no commit is under way, then holds the gate open for one push; rethrows a failed commit's error. */
  async enter(): Promise<void> {
    while (this.#gateClosed) await new Promise<void>((r) => this.#waiters.push(r));
    if (this.#failure !== null) throw this.#failure;
    this.#inside++;
  }

  /** Records what was pushed inside the gate, and the batch to acknowledge once it is committed. */
  pushed(session: ResourceSession, source: string, batches: number, batch: LiveBatch): void {
    this.#counts.set(session, { ...(this.#counts.get(session) ?? {}), [source]: batches });
    this.#pending.push(batch);
    this.#pendingMessages += batch.items.length;
  }

  leave(): void {
    this.#inside--;
    if (this.#inside === 0) this.#wakeCommitter?.();
  }

  /**
   * Starts a commit without waiting for it (the reader goes on reading meanwhile); if it
   * fails, the next {@link enter} throws its error.
   */
  start(): void {
    this.commit().catch((error: unknown) => {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    });
  }

  /** Commits everything pushed so far (joins a commit under way). */
  commit(): Promise<void> {
    this.#committing ??= this.#run().finally(() => {
      this.#committing = null;
      this.#openGate();
    });
    return this.#committing;
  }

  #openGate(): void {
    this.#gateClosed = false;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #run(): Promise<void> {
    this.#gateClosed = true;
    while (this.#inside > 0) await new Promise<void>((r) => (this.#wakeCommitter = r));
    this.#wakeCommitter = null;
    const batches = this.#pending.splice(0);
    const messages = this.#pendingMessages;
    this.#pendingMessages = 0;
    try {
      await Promise.all(this.#sessions.map((s) => s.commit(this.#counts.get(s) ?? {})));
      // What is pushed from now on belongs to the next commit.
      this.#openGate();
      await this.#acknowledge(batches, messages);
    } catch (error) {
      // Not acknowledged: they are redelivered to the next run of the group.
      this.#pending.unshift(...batches);
      this.#pendingMessages += messages;
      throw error;
    }
  }

  /**
   * The run is over and succeeded: every output is written (the resources drained and the
   * sinks are closed), so everything read is acknowledged.
   */
  async finish(): Promise<void> {
    await this.#committing?.catch(() => undefined);
    if (this.#failure !== null) throw this.#failure;
    await this.#acknowledge(this.#pending.splice(0), this.#pendingMessages);
    this.#pendingMessages = 0;
  }

  async #acknowledge(batches: LiveBatch[], messages: number): Promise<void> {
    await this.#sinks.sync();
    // Every batch's acknowledgements go out at once; each resolves once the stream has them.
    await Promise.all(batches.map((batch) => batch.ack()));
    this.acknowledged += messages;
    this.commits++;
    this.#lastCommitAt = performance.now();
  }

  /**
   * The lag of each live source's group (by source node) as last heard, and asks each
   * again (answers arrive in the background, so a slow stream server never holds a caller).
   */
  lags(): Record<string, number | null> {
    for (const [node, source] of this.sources)
      source.lag().then(
        (lag) => (this.#lags[node] = lag ?? null),
        () => undefined,
      );
    return { ...this.#lags };
  }

  /** Closes every live source (unacknowledged messages stay pending for redelivery). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.sources.values()].map((s) => s.close()));
  }
}
