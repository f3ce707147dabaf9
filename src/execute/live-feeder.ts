import { openLiveSource } from '../sources/live/open-live.js';
import type { LiveItem } from '../sources/live/live-source.js';
import { encodeLivePayload } from '../sources/live/live-payload.js';
import type { LiveCommit } from './live-commit.js';
import type { FeederStats } from './push-feeder.js';
import type { ResourceSession } from './resource-session.js';

/** When a live run ends by itself (else it runs until its signal aborts: SIGINT/SIGTERM, DELETE). */
export interface LiveLimits {
  /** End once no message arrived for this long. */
  until_idle_ms?: number;
  /** End after this many messages (over all live sources). */
  max_records?: number;
}

/** Why a live source stopped reading. */
export type LiveStop = 'signal' | 'idle' | 'max_records' | 'failure';

/** Figures of one live source, for the CompletionStatus. */
export interface LiveFeederStats extends FeederStats {
  batches: number;
  url: string;
  group: string;
  stopped_by: LiveStop;
  /** Messages the group had not acknowledged when reading stopped. */
  lag: number | null;
}

/** Shared count of messages read by every live source of a run (for `max_records`). */
export interface LiveBudget {
  read: number;
}

/**
 * Reads a live source (NATS JetStream, Redis Streams) through its consumer group and pushes
 * its records to the resource in batches of at most `batchSize`, as messages arrive (a
 * batch is what has arrived, so a slow stream is not held back to fill one). Messages go
 * as read, unparsed: the resource parses each once and dead-letters those that are not
 * records with their stream sequence (or entry id). Reading is bounded: a batch is
 * taken only once the resource has credit for the previous one, and the stream holds at
 * most its max-ack-pending unacknowledged, so a faster producer grows the stream's lag.
 * Every commit interval (`COMMIT_INTERVAL_MS`; a checkpointed run's checkpoint interval),
 * or at half the in-flight bound, the commit point acknowledges what is durably done (in a
 * checkpointed run: a recorded epoch, see {@link LiveCommit}).
 */
export async function feedLive(options: {
  node_id: string;
  flow: string;
  stream: string;
  input: string;
  /**
   * The resource to push to, asked before each push (a resized run moves to another one
   * at a commit, while no push is under way).
   */
  session: () => ResourceSession;
  commit: LiveCommit;
  limits: LiveLimits;
  budget: LiveBudget;
  signal?: AbortSignal;
  batchSize?: number;
  onBatch?: (records: number, bytes: number) => void;
  /** Sees every batch read (the live profile). */
  observe?: (items: readonly LiveItem[]) => void;
}): Promise<LiveFeederStats> {
  const batchSize = options.batchSize ?? 1000;
  const live = await openLiveSource(options.input, { flow: options.flow, stream: options.stream });
  options.commit.sources.set(options.node_id, live);
  const stats: LiveFeederStats = {
    records_in: 0,
    records_out: 0,
    malformed: [],
    busy_ms: 0,
    batches: 0,
    url: live.label,
    group: live.group,
    stopped_by: 'signal',
    lag: null,
  };
  const limits = options.limits;
  let lastMessageAt = performance.now();
  const pollMs = Math.min(250, limits.until_idle_ms ?? 250);
  try {
    for (;;) {
      if (options.signal?.aborted === true) break;
      if (limits.max_records !== undefined && options.budget.read >= limits.max_records) {
        stats.stopped_by = 'max_records';
        break;
      }
      const room = Math.min(
        batchSize,
        options.commit.aheadLimit ?? batchSize,
        limits.max_records === undefined ? batchSize : limits.max_records - options.budget.read,
      );
      const batch = await live.next(room, pollMs);
      const now = performance.now();
      if (batch.items.length === 0) {
        if (limits.until_idle_ms !== undefined && now - lastMessageAt >= limits.until_idle_ms) {
          stats.stopped_by = 'idle';
          break;
        }
        if (options.commit.due()) await options.commit.commit();
        continue;
      }
      lastMessageAt = now;
      options.budget.read += batch.items.length;
      let bytes = 0;
      for (const item of batch.items) bytes += item.bytes;
      stats.records_in += batch.items.length;
      // Not parsed here: the resource parses each message once and dead-letters those
      // that are not records, with their sequence.
      const payload = encodeLivePayload(batch.items);
      options.observe?.(batch.items);
      options.onBatch?.(batch.items.length, bytes);
      stats.busy_ms += performance.now() - now;
      await options.commit.push(options.session, options.node_id, batch, payload);
      stats.batches++;
      // Committed in the background: the next batch is read and encoded meanwhile (and
      // pushed once the commit is through).
      if (
        options.commit.due() ||
        options.commit.unacknowledged >= Math.max(1, Math.floor(live.maxInFlight / 2))
      )
        options.commit.start();
    }
  } catch (error) {
    stats.stopped_by = 'failure';
    throw error;
  } finally {
    stats.lag = await live.lag().then(
      (lag) => lag ?? null,
      () => null,
    );
  }
  return stats;
}
