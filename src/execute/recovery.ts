import { closeSync, openSync, readSync } from 'node:fs';
import type { Checkpoint, CheckpointStore } from '../checkpoint/checkpoint-store.js';
import type { Rac } from '../provision/rac.js';
import type { WorkerClient } from '../worker/client.js';
import type { DeploySpec, RunResult } from '../worker/dataplane/deploy-spec.js';
import type { Recovery } from './completion-status.js';
import { ResourceError } from './resource-error.js';
import { preciseNow, ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/** Recoveries a checkpointed run makes before it fails (request `max_recoveries`). */
export const DEFAULT_MAX_RECOVERIES = 5;

/** A resource a run continues on after one died. */
export interface Replacement {
  client: WorkerClient;
  rac: Rac;
  warm: boolean;
}

/** What a {@link RecoveringRun} needs. */
export interface RecoveringRunOptions {
  execution_id: string;
  /** Placement group index: checkpoints are per resource of a run. */
  part: number;
  spec: DeploySpec;
  first: Replacement;
  sinks: SinkFiles;
  store: CheckpointStore;
  /**
   * Resolves once the run is registered in the store (`begin`, begun once a resource has
   * deployed, or by this call); a checkpoint is saved only after it. Default: registered already.
   */
  registered?: () => Promise<void>;
  stallTimeoutMs: number;
  maxRecoveries: number;
  /** A resource for the group to continue on: warm first, else on demand. */
  replace(): Promise<Replacement>;
  /**
   * Why the resource went away, as the provider says (waits briefly for it), and whether it
   * was killed for its memory: an OOM kill is not recovered (the replay would meet it again).
   */
  exitOf(resourceId: string): Promise<{ reason?: string; oom: boolean }>;
  /** A previous run of the same execution left a checkpoint to start from (`--resume`). */
  resume?: boolean;
  /** Called each time a resource of the part has deployed the run. */
  onDeployed?: () => void;
  /** Called after each checkpoint recorded. */
  onCheckpoint?: (epoch: number, resourceId: string) => void;
  /** Output types of the JSONL sinks (rolled back on resume even if the checkpoint never saw them). */
  sinkTypes: string[];
}

/**
 * One resource's part of a checkpointed run, surviving the death of its resource: the
 * resource reports a checkpoint after each epoch, which is recorded (sinks synced, their
 * sizes, the positions and the keyed state changes, one transaction) before it goes on.
 * When the resource dies, another takes over from the last checkpoint: the JSONL sinks are
 * rolled back to the sizes it recorded, the new resource restores its state and reads
 * from its positions, and stores skip the epochs they already hold. Fails after
 * `maxRecoveries`, or at once for any failure other than a resource that went away.
 */
export class RecoveringRun {
  readonly #options: RecoveringRunOptions;
  /** Every session the part ran on, the dead ones first; the last is the current one. */
  readonly sessions: ResourceSession[] = [];
  readonly recoveries: Recovery[] = [];
  /** Checkpoints recorded. */
  epochs = 0;
  /**
   * Told of each replacement session once its run started (a checkpointed live run replays
   * onto it what its last checkpoint does not cover), and of the part failing for good.
   */
  listener: RecoveryListener | null = null;
  #deathAt: number | null = null;
  /** A planned move to another resource (a resize), once the current one has ended. */
  #move: { next: Replacement; resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** Figures of the resources the part moved away from. */
  readonly #left: RunResult[] = [];

  constructor(options: RecoveringRunOptions) {
    this.#options = options;
  }

  get current(): ResourceSession {
    return this.sessions[this.sessions.length - 1];
  }

  async run(): Promise<RunResult> {
    const o = this.#options;
    let resource = o.first;
    let latest = o.resume === true ? await o.store.latest(o.execution_id, o.part) : null;
    if (o.resume === true) await o.sinks.rollback(latest?.checkpoint.sinks ?? null, o.sinkTypes);
    let moved: (() => void) | null = null;
    for (;;) {
      const session = this.#session(resource, latest);
      this.sessions.push(session);
      try {
        const running = session.run();
        const recovery = this.recoveries.at(-1);
        if (moved !== null) {
          this.listener?.moved(session);
          moved();
          moved = null;
        } else if (recovery !== undefined)
          this.listener?.replaced(session, latest?.checkpoint.epoch ?? -1, recovery);
        const result = await running;
        const move = this.#move;
        if (move === null) return withFiguresOf(this.#left, result);
        // Ended for a planned move: the next resource restores the checkpoint of the commit
        // the move was made at (everything pushed is in it) and the run goes on there.
        this.#move = null;
        this.#left.push(result);
        // The resource moved from is released by the resizer (or goes back to its pool).
        resource = move.next;
        latest = await o.store.latest(o.execution_id, o.part);
        moved = move.resolve;
        continue;
      } catch (error) {
        if (this.#move !== null) {
          // Died while it ended for a move: it is recovered from as any death; no move.
          this.#move.reject(error);
          this.#move = null;
        }
        if (
          !(error instanceof ResourceError) ||
          error.code !== 'E_RESOURCE_DIED' ||
          this.recoveries.length >= o.maxRecoveries
        ) {
          this.listener?.failed(error);
          throw error;
        }
        const detected = preciseNow();
        const exit = await o.exitOf(error.resource_id);
        if (exit.oom) {
          this.listener?.failed(error);
          throw error;
        }
        resource.client.close();
        latest = await o.store.latest(o.execution_id, o.part);
        await o.sinks.rollback(latest?.checkpoint.sinks ?? null, o.sinkTypes);
        resource = await this.#replace().catch((failure: unknown) => {
          this.listener?.failed(failure);
          throw failure;
        });
        this.#deathAt = detected;
        this.recoveries.push({
          at: new Date(detected).toISOString(),
          resource_id: error.resource_id,
          reason: exit.reason ?? error.message,
          code: error.code,
          checkpoint_epoch: latest?.checkpoint.epoch ?? -1,
          records_replayed: replayedLines(o.spec, latest?.checkpoint ?? null, session.taken),
          replacement_resource_id: resource.rac.resource_id,
          warm: resource.warm,
          resumed_after_ms: null,
        });
      }
    }
  }

  /**
   * Moves the part to `next` (a resize): ends the current resource (`df.end` with `counts`,
   * the batches pushed to it per source), then runs on `next` from the latest checkpoint.
   * The caller holds the live commit's gate right after a recorded epoch that covers every
   * batch pushed. Resolves once `next` was sent the run; rejects if the resource died first
   * (the run then recovers as from any death).
   */
  moveTo(next: Replacement, counts: Record<string, number>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#move = { next, resolve, reject };
      this.current.end(counts);
    });
  }

  /** A replacement resource; one that fails to start is tried again, twice. */
  async #replace(): Promise<Replacement> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#options.replace();
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  #session(
    resource: Replacement,
    latest: Awaited<ReturnType<CheckpointStore['latest']>>,
  ): ResourceSession {
    const o = this.#options;
    const checkpoint = latest?.checkpoint;
    // A replay with no checkpoint recorded (a replacement, or a resumed run): the first
    // attempt may have committed its first epoch to a store, so the first epoch is the
    // fixed one (a first epoch sized from a learned rate is always recorded as a plan first).
    const replay = this.sessions.length > 0 || o.resume === true;
    const spec: DeploySpec =
      checkpoint === undefined
        ? replay
          ? { ...o.spec, checkpoint: { ...o.spec.checkpoint!, replay: true } }
          : o.spec
        : {
            ...o.spec,
            // The chunks of the checkpoint's positions, whatever this resource's threads.
            sources: o.spec.sources.map((s, i) =>
              s.mode === 'file' && (checkpoint.chunk_bytes[i] ?? 0) > 0
                ? { ...s, chunk_bytes: checkpoint.chunk_bytes[i] }
                : s,
            ),
            checkpoint: {
              ...o.spec.checkpoint!,
              resume: {
                epoch: checkpoint.epoch,
                positions: checkpoint.positions,
                next: checkpoint.next,
                nodes: checkpoint.nodes,
              },
            },
          };
    const session = new ResourceSession({
      client: resource.client,
      rac: resource.rac,
      warm: resource.warm,
      spec,
      sinks: o.sinks,
      stallTimeoutMs: o.stallTimeoutMs,
      ...(latest !== null ? { payload: Buffer.from(JSON.stringify(latest.state), 'utf8') } : {}),
      onCheckpoint: async (message, payload) => {
        // After the last epoch the run is complete: its stores hold every epoch, and a death
        // before the status replays that epoch from the checkpoint before it (the stores skip
        // it by its marker). Recording it would only cost a sink fsync and a write.
        if (message.last === true) {
          this.epochs++;
          o.onCheckpoint?.(message.epoch, resource.rac.resource_id);
          return;
        }
        await o.registered?.();
        if (message.epoch < 0) {
          // The plan: where a first epoch sized from a learned rate ends, recorded before
          // anything of it commits. A replay after a death resumes from it and reads exactly
          // that epoch; nothing was written yet, so the sinks' place is their start.
          await o.store.save(
            o.execution_id,
            o.part,
            {
              epoch: -1,
              positions: message.positions,
              next: message.next,
              nodes: {},
              chunk_bytes: message.chunk_bytes,
              sinks: { files: {} },
              at: Date.now(),
            },
            '{}',
          );
          return;
        }
        await o.sinks.sync();
        const recorded: Checkpoint = {
          epoch: message.epoch,
          positions: message.positions,
          next: message.next,
          nodes: message.nodes,
          chunk_bytes: message.chunk_bytes,
          sinks: o.sinks.snapshot(),
          at: Date.now(),
        };
        await o.store.save(
          o.execution_id,
          o.part,
          recorded,
          payload.length === 0 ? '{}' : payload.toString('utf8'),
        );
        this.epochs++;
        o.onCheckpoint?.(recorded.epoch, resource.rac.resource_id);
      },
    });
    session.onDeployed = () => {
      const last = this.recoveries[this.recoveries.length - 1];
      if (this.#deathAt !== null && last !== undefined && last.resumed_after_ms === null)
        last.resumed_after_ms = Math.round((preciseNow() - this.#deathAt) * 10) / 10;
      o.onDeployed?.();
    };
    return session;
  }
}

/** What a checkpointed live run hears of its part's recoveries. */
export interface RecoveryListener {
  /**
   * `session` replaces a dead one and runs from checkpoint `checkpointEpoch` (-1: none);
   * `recovery` is its entry in the status (`records_replayed` is the listener's to set).
   */
  replaced(session: ResourceSession, checkpointEpoch: number, recovery: Recovery): void;
  /** `session` continues the run after a planned move, from a checkpoint covering everything pushed. */
  moved(session: ResourceSession): void;
  /** The part failed and will not recover. */
  failed(error: unknown): void;
}

/**
 * The last resource's result (its node figures count from the checkpoint it restored, so they
 * cover the whole run), with the CPU, time and peaks of the resources the part moved from.
 */
function withFiguresOf(left: readonly RunResult[], last: RunResult): RunResult {
  if (left.length === 0) return last;
  const all = [...left, last];
  const stores = all.map((r) => r.first_store_write_at).filter((t): t is number => t !== null);
  return {
    ...last,
    cpu_seconds: all.reduce((sum, r) => sum + r.cpu_seconds, 0),
    peak_rss_bytes: Math.max(...all.map((r) => r.peak_rss_bytes)),
    elapsed_ms: all.reduce((sum, r) => sum + r.elapsed_ms, 0),
    threads: Math.max(...all.map((r) => r.threads)),
    first_store_write_at: stores.length === 0 ? null : Math.min(...stores),
  };
}

/** Input lines between a checkpoint's positions and the chunks a dead resource had taken. */
function replayedLines(spec: DeploySpec, checkpoint: Checkpoint | null, taken: number[]): number {
  let lines = 0;
  spec.sources.forEach((source, i) => {
    if (source.mode !== 'file') return;
    const bytes = checkpoint?.chunk_bytes[i] ?? source.chunk_bytes ?? 0;
    const from = (checkpoint?.positions[i] ?? 0) * bytes;
    const to = (taken[i] ?? 0) * bytes;
    if (bytes > 0 && to > from) lines += countLines(source.path, from, to);
  });
  return lines;
}

function countLines(file: string, from: number, to: number): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    for (let at = from; at < to;) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, to - at), at);
      if (read === 0) break;
      for (let i = buffer.indexOf(10, 0); i >= 0 && i < read; i = buffer.indexOf(10, i + 1))
        lines++;
      at += read;
    }
    return lines;
  } finally {
    closeSync(fd);
  }
}
