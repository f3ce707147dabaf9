import type { LiveBatch, LiveSource } from '../sources/live/live-source.js';
import { WarmflowError } from '../errors.js';
import type { Recovery } from './completion-status.js';
import type { RecoveringRun, RecoveryListener } from './recovery.js';
import { ResourceError } from './resource-error.js';
import type { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/** How often a live run commits (acknowledges what is done) at the latest. */
export const COMMIT_INTERVAL_MS = 1000;

/** A batch a live feeder pushed, kept until it is acknowledged (a replay pushes it again). */
interface Pushed {
  source: string;
  batch: LiveBatch;
  payload: Buffer;
}

/** An epoch of a checkpointed live run: fixed (its batches, in push order) before its commit. */
interface Cut {
  epoch: number;
  items: Pushed[];
}

/**
 * The acknowledgement point of a live run, shared by its live feeders. A commit closes the
 * gate (no feeder pushes), waits for the pushes under way, asks every resource to process
 * everything pushed so far and hand back every output (`df.commit`), opens the gate again
 * (later pushes are not part of it), fsyncs the sinks, and only then acknowledges the
 * stream messages behind those outputs. A crash before that leaves them unacknowledged, to
 * be redelivered to the next run of the group (at-least-once).
 *
 * **Checkpointed** (a {@link RecoveringRun} given): each commit is an epoch. The batches
 * pushed since the last one are cut, in push order, as epoch N before `df.commit` goes out;
 * the resource commits their writes to every store with the marker `(writer, N)` and its
 * checkpoint is recorded before it answers; only then are the messages acknowledged. When
 * the resource dies, the replacement restores the last checkpoint and this replays onto it,
 * from the batches it still holds (the messages are not acknowledged, so nothing else reads
 * them): epoch N again, with exactly the same messages in the same order, if its checkpoint
 * was not recorded (a store that committed it skips it by its marker), then the batches
 * pushed after the cut. Redeliveries by the stream of messages held here are dropped by the
 * sources (see `LiveSource`), so every message is in exactly one epoch: exactly-once.
 */
export class LiveCommit {
  /** The resources the run pushes to now (a resized run moves to another one). */
  readonly #sessions: () => readonly ResourceSession[];
  readonly #interval: number;
  readonly #sinks: SinkFiles;
  /** Checkpointed runs: the part whose sessions replace each other. */
  readonly #recovering: RecoveringRun | null;
  /** Checkpointed runs: the session pushes go to. */
  #current: ResourceSession | null;
  /** Batches pushed per session and source, the barrier a commit sends. */
  readonly #counts = new Map<ResourceSession, Record<string, number>>();
  /** Pushed, not cut into an epoch (not checkpointed: not committed yet). */
  #pending: Pushed[] = [];
  #cut: Cut | null = null;
  #epoch = 0;
  #unacknowledged = 0;
  /** Sessions seen dead; their replacement's replay is awaited. */
  readonly #dead = new Set<ResourceSession>();
  /** A replacement's replay is due or under way. */
  #replaying = false;
  /** `df.end` was sent (a replacement gets it again after its replay). */
  #ended = false;
  /** Commits and replays, one at a time. */
  #chain: Promise<unknown> = Promise.resolve();
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
  /**
   * When set, a source's records pushed to a resource and not processed by it yet stay within
   * this many (a batch goes anyway when nothing is ahead of it), and feeders read batches no
   * larger: a resource about to be moved from is kept at work without a queue the move would
   * wait for (a growing run's, while the bigger one warms).
   */
  aheadLimit: number | null = null;
  /** The live sources of the run, by source node. */
  readonly sources = new Map<string, LiveSource>();

  constructor(
    sessions: readonly ResourceSession[] | (() => readonly ResourceSession[]),
    sinks: SinkFiles,
    options: {
      recovering?: RecoveringRun;
      /** How often to commit at the latest (a checkpointed run: its checkpoint interval). */
      intervalMs?: number;
    } = {},
  ) {
    this.#interval = options.intervalMs ?? COMMIT_INTERVAL_MS;
    this.#sessions = typeof sessions === 'function' ? sessions : () => sessions;
    this.#sinks = sinks;
    this.#recovering = options.recovering ?? null;
    this.#current = this.#recovering?.current ?? null;
    if (this.#recovering !== null) this.#recovering.listener = this.#listener();
  }

  /** Whether commits are checkpointed epochs (exactly-once across resource deaths). */
  get checkpointed(): boolean {
    return this.#recovering !== null;
  }

  /** Messages read but not acknowledged yet. */
  get unacknowledged(): number {
    return this.#unacknowledged;
  }

  /** Whether the last commit is older than `intervalMs` (default the commit interval). */
  due(intervalMs = this.#interval): boolean {
    return this.#unacknowledged > 0 && performance.now() - this.#lastCommitAt >= intervalMs;
  }

  /**
   * Pushes a batch read from `source` to its resource (`session`, asked once the gate is
   * open: a resized run moves at a commit; a checkpointed run's current one) once no commit
   * holds the gate, and keeps it until it is acknowledged.
   * In a checkpointed run a resource that dies meanwhile is not an error: the batch goes to
   * the replacement with the others, and this resolves once that replay is done.
   */
  async push(
    session: ResourceSession | (() => ResourceSession),
    source: string,
    batch: LiveBatch,
    payload: Buffer,
  ): Promise<void> {
    const item: Pushed = { source, batch, payload };
    const target = await this.#enter(session, item);
    let inside = true;
    try {
      await this.#send(target, item);
    } catch (error) {
      if (!this.#recoverable(error)) throw error;
      this.#dead.add(target);
      this.#leave();
      inside = false;
      await this.#until(() => this.#current !== target && !this.#replaying);
    } finally {
      if (inside) this.#leave();
    }
  }

  /**
   * Starts a commit without waiting for it (the reader goes on reading meanwhile); if it
   * fails, the next {@link push} throws its error.
   */
  start(): void {
    this.commit().catch((error: unknown) => this.#fail(error));
  }

  /** Commits everything pushed so far (joins a commit under way). */
  commit(): Promise<void> {
    this.#committing ??= this.#exclusive(() =>
      this.#recovering === null ? this.#commitAll() : this.#commitEpoch(),
    ).finally(() => {
      this.#committing = null;
    });
    return this.#committing;
  }

  /**
   * Checkpointed: every live feeder stopped reading. Waits until everything read is in a
   * recorded epoch and acknowledged (through any replay a resource death makes), then tells
   * the resource that no more comes (`df.end`; a later replacement is told again).
   */
  async end(): Promise<void> {
    if (this.#recovering === null)
      throw new Error('LiveCommit.end is for checkpointed runs; end each session instead');
    for (;;) {
      await this.commit();
      await this.#until(() => !this.#replaying && !this.#dead.has(this.#current!));
      if (this.#cut === null && this.#pending.length === 0) break;
    }
    this.#ended = true;
    this.#current!.end(this.#counts.get(this.#current!) ?? {});
  }

  /** Checkpointed, a feeder failed: the current resource ends now with what it was pushed. */
  endNow(): void {
    this.#ended = true;
    this.#current?.end(this.#counts.get(this.#current) ?? {});
  }

  /**
   * The run is over and succeeded: every output is written (the resources drained and the
   * sinks are closed), so everything read is acknowledged.
   */
  async finish(): Promise<void> {
    await this.#committing?.catch(() => undefined);
    await this.#chain;
    if (this.#failure !== null) throw this.#failure;
    const items = this.#pending.splice(0);
    await this.#acknowledge(items);
  }

  /** Batches pushed to `session` per source (the counts its `df.end` or next commit carries). */
  countsFor(session: ResourceSession): Record<string, number> {
    return { ...(this.#counts.get(session) ?? {}) };
  }

  /** Forgets a resource the run moved away from. */
  forget(session: ResourceSession): void {
    this.#counts.delete(session);
  }

  /**
   * A commit that keeps the gate closed until `during` is done. When `during` runs, every
   * message pushed so far is processed, its outputs written and the message acknowledged,
   * and nothing is pushed — the point a resized run moves to another resource at. Not
   * checkpointed, a failure fails the run (the next {@link push} throws it). Checkpointed,
   * what was pushed is committed as an epoch and its checkpoint recorded first (the next
   * resource restores it); a resource that died meanwhile is recovered as any death is, and
   * the move is not made (this rejects; the run goes on).
   */
  async checkpoint(during: () => Promise<void>): Promise<void> {
    if (this.#recovering !== null) {
      const died = new WarmflowError(
        'E_RESOURCE_DIED',
        'the resource died at the commit before the move; the run recovers on another',
      );
      try {
        await this.#exclusive(async () => {
          await this.#commitEpoch(true);
          if (
            this.#cut !== null ||
            this.#pending.length > 0 ||
            this.#replaying ||
            this.#dead.has(this.#current!)
          )
            throw died;
          await during();
        });
      } catch (error) {
        // A death is recovered from (the move is not made); anything else fails the run.
        if (error !== died && !this.#recoverable(error)) this.#fail(error);
        throw error;
      }
      return;
    }
    try {
      await this.#exclusive(async () => {
        await this.#commitAll(true);
        await during();
      });
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /** Not checkpointed: one commit of everything pushed to every resource. */
  async #commitAll(keepGate = false): Promise<void> {
    const items = this.#pending.splice(0);
    try {
      await Promise.all(this.#sessions().map((s) => s.commit(this.#counts.get(s) ?? {})));
    } catch (error) {
      // Not acknowledged: they are redelivered to the next run of the group.
      this.#pending.unshift(...items);
      throw error;
    }
    // What is pushed from now on belongs to the next commit.
    if (!keepGate) this.#openGate();
    await this.#acknowledge(items);
  }

  /**
   * Checkpointed: cuts the pushed batches as the next epoch and commits it (the gate opens
   * once the resource has committed it, unless `keepGate`).
   */
  async #commitEpoch(keepGate = false): Promise<void> {
    const session = this.#current!;
    // A replacement's replay is due: it commits what is cut or pending.
    if (this.#replaying || this.#dead.has(session) || this.#cut !== null) return;
    if (this.#pending.length === 0) return;
    const cut: Cut = { epoch: this.#epoch, items: this.#pending.splice(0) };
    this.#cut = cut;
    try {
      await session.commit(this.#counts.get(session) ?? {}, cut.epoch);
    } catch (error) {
      if (!this.#recoverable(error)) throw error;
      // The replay onto the replacement commits the epoch again.
      this.#dead.add(session);
      return;
    }
    if (!keepGate) this.#openGate();
    await this.#acknowledgeCut();
  }

  /**
   * Onto a replacement resource (restored from checkpoint `checkpointEpoch`): the cut epoch
   * again unless its checkpoint was recorded, then every batch pushed since.
   */
  async #replay(session: ResourceSession, checkpointEpoch: number, recovery: Recovery) {
    // A later replacement supersedes this one.
    if (this.#current !== session) return;
    let replayed = 0;
    try {
      const cut = this.#cut;
      if (cut !== null && cut.epoch <= checkpointEpoch) await this.#acknowledgeCut();
      else if (cut !== null) {
        for (const item of cut.items) {
          await this.#send(session, item);
          replayed += item.batch.items.length;
        }
        await session.commit(this.#counts.get(session) ?? {}, cut.epoch);
        await this.#acknowledgeCut();
      }
      for (const item of this.#pending) {
        await this.#send(session, item);
        replayed += item.batch.items.length;
      }
      if (this.#ended) session.end(this.#counts.get(session) ?? {});
      this.#replaying = false;
    } catch (error) {
      if (!this.#recoverable(error)) throw error;
      // Died too: the next replacement replays again.
      this.#dead.add(session);
    } finally {
      recovery.records_replayed = replayed;
      this.#notify();
    }
  }

  #listener(): RecoveryListener {
    return {
      replaced: (session, checkpointEpoch, recovery) => {
        if (this.#current !== null) this.#dead.add(this.#current);
        this.#current = session;
        this.#replaying = true;
        this.#notify();
        void this.#exclusive(() => this.#replay(session, checkpointEpoch, recovery)).catch(
          (error: unknown) => this.#fail(error),
        );
      },
      moved: (session) => {
        // At a commit with the gate closed and nothing pushed since: no replay is due.
        this.#current = session;
      },
      failed: (error) => this.#fail(error),
    };
  }

  /** Sends one batch to `session` as its next of that source. */
  async #send(session: ResourceSession, item: Pushed): Promise<void> {
    const counts = this.#counts.get(session) ?? {};
    const seq = counts[item.source] ?? 0;
    counts[item.source] = seq + 1;
    this.#counts.set(session, counts);
    await session.push(
      {
        source: item.source,
        seq,
        records: item.batch.items.length,
        payload: item.payload,
      },
      this.aheadLimit ?? undefined,
    );
  }

  async #acknowledgeCut(): Promise<void> {
    const cut = this.#cut!;
    this.#cut = null;
    this.#epoch = cut.epoch + 1;
    await this.#acknowledge(cut.items);
  }

  async #acknowledge(items: Pushed[]): Promise<void> {
    await this.#sinks.sync();
    // Every batch's acknowledgements go out at once; each resolves once the stream has them.
    await Promise.all(items.map((item) => item.batch.ack()));
    for (const item of items) {
      this.#unacknowledged -= item.batch.items.length;
      this.acknowledged += item.batch.items.length;
    }
    this.commits++;
    this.#lastCommitAt = performance.now();
  }

  /** A resource death a checkpointed run recovers from. */
  #recoverable(error: unknown): boolean {
    return (
      this.#recovering !== null &&
      error instanceof ResourceError &&
      error.code === 'E_RESOURCE_DIED'
    );
  }

  /** Runs `task` alone: after the commits and replays before it, with the gate closed. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => {
      this.#gateClosed = true;
      try {
        while (this.#inside > 0) await new Promise<void>((r) => (this.#wakeCommitter = r));
        this.#wakeCommitter = null;
        return await task();
      } finally {
        this.#openGate();
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits until no commit holds the gate and no replay is due (rethrows a failure), then, in
   * the same step (a replacement arriving in between would otherwise get the batch before its
   * replay), holds the gate open, keeps `item` and says which session it goes to.
   */
  async #enter(
    session: ResourceSession | (() => ResourceSession),
    item: Pushed,
  ): Promise<ResourceSession> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      const dead = this.#current !== null && this.#dead.has(this.#current);
      if (!this.#gateClosed && !this.#replaying && !dead) break;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    this.#inside++;
    this.#pending.push(item);
    this.#unacknowledged += item.batch.items.length;
    return this.#current ?? (typeof session === 'function' ? session() : session);
  }

  #leave(): void {
    this.#inside--;
    if (this.#inside === 0) this.#wakeCommitter?.();
  }

  /** Waits until `ready()`; throws the run's failure if there is one. */
  async #until(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      if (ready()) return;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  #notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #openGate(): void {
    this.#gateClosed = false;
    this.#notify();
  }

  #fail(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    this.#notify();
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
