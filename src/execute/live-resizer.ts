import type { ResizePolicy, ResizeDecision } from '../policy/live/resize-policy.js';
import type { LiveCommit } from './live-commit.js';
import type { Replacement } from './recovery.js';
import type { ResourceSession } from './resource-session.js';

/**
 * The part of a run a resize moves: a `ResizingRun` (keyed state handed over at a
 * commit) or, checkpointed, a `RecoveringRun` (the next resource restores the checkpoint of
 * the commit the move is made at).
 */
export interface MovableRun {
  readonly current: ResourceSession;
  moveTo(next: Replacement, counts: Record<string, number>): Promise<void>;
}

/** How a live run is resized while it runs (request `live.resize`); see docs/policy.md. */
export interface LiveResizeOptions {
  /** Cores the run never goes below; default 1. */
  min_cores?: number;
  /** Cores the run never goes above; default 4 × the cores it started with. */
  max_cores?: number;
  /** Seconds a lag is planned to be worked off in; default 30. */
  drain_seconds?: number;
  /**
   * CPU microseconds per record the size is computed from; default the RPRs'
   * (`reasoning.estimate.cpu_us_per_record`, else `reasoning.per_record.cpu_us`).
   */
  cpu_us_per_record?: number;
}

/** One resize of a running live flow, in `CompletionStatus.live.resizes`. */
export interface LiveResize {
  /** When it was decided (ISO time). */
  at: string;
  direction: 'grow' | 'shrink';
  from: { cpu_cores: number; resource_id: string };
  to: { cpu_cores: number; resource_id: string | null };
  reason: string;
  /** The rate forecast `lead_seconds` ahead when it was decided, and what the size was chosen for. */
  forecast_records_per_second: number;
  needed_records_per_second: number;
  lead_seconds: number;
  /** Messages of the groups not acknowledged when it was decided. */
  lag: number;
  /** Milliseconds the new resource took to be warm (started, code loaded, stores open). */
  warm_ms: number | null;
  /**
   * A grow onto a spare: how many milliseconds before the decision the resource began to warm
   * (when the policy first leaned to this size).
   */
  prewarmed_ms?: number;
  /** When the run moved onto it (ISO time), and how long pushing stopped for the move. */
  switched_at: string | null;
  pause_ms: number | null;
  /** Why it was not carried out (the run stays on its resource). */
  error?: string;
}

/**
 * What the spares of a resized run came to (`CompletionStatus.live.spares`): started, taken by
 * a grow, released unused (a lean that went, or the run's end), or not had (no capacity).
 */
export interface LiveSpares {
  started: number;
  used: number;
  released: number;
  failed: number;
}

/** A resource warming for a grow the policy leans to (`performance.now()` times). */
interface Spare {
  cores: number;
  started: number;
  /** When it was warm, once it is. */
  readyAt: number | null;
  /** Null: it could not be had. */
  resource: Promise<Replacement | null>;
}

/**
 * Seconds of the old resource's work a growing run pushes ahead of what it has processed
 * while the bigger resource warms: enough that it never waits for a push, little enough that
 * the move does not wait long for it to finish.
 */
export const AHEAD_SECONDS = 0.25;
/** Most records pushed ahead, per source, while a grow warms (8 full batches, as credits allow). */
const MAX_AHEAD = 8000;

/**
 * Carries out a {@link ResizePolicy}'s decisions for one running live flow: about once a
 * second it observes the rate that arrived on the run's streams — messages acknowledged by
 * the run plus the groups' lag (pending, or delivered and not acknowledged): every message
 * that arrived since the run began, read or not, so a flow that falls behind still sees the
 * producer's rate — and the lag. When the policy decides, a resource of the new size is
 * provisioned warm (a real worker, its code loaded); then, at a commit (the checkpoint:
 * everything read is processed, written and acknowledged, nothing is pushed), the run
 * moves onto it with its keyed state and the old resource is released. The flow runs on
 * the old resource while the new one warms; growing, it is behind, so what is pushed to it
 * ahead of what it has processed is held to {@link AHEAD_SECONDS} of its measured rate
 * meanwhile: it keeps working at its full rate, and the move waits for that much at most,
 * not for a queue that filled while the bigger one warmed. A resource that cannot be had
 * (no capacity) is a refused resize, said in the status; the flow runs on.
 */
export class LiveResizer {
  readonly resizes: LiveResize[] = [];
  /** What the spares came to: a lean that goes costs a resource warmed for nothing. */
  readonly spares: LiveSpares = { started: 0, used: 0, released: 0, failed: 0 };
  readonly #policy: ResizePolicy;
  readonly #run: MovableRun;
  readonly #commit: LiveCommit;
  readonly #provision: (cores: number) => Promise<Replacement>;
  readonly #release: (resource: Replacement) => Promise<void>;
  readonly #onResize: ((resize: LiveResize) => void) | undefined;
  /** Every resource the run moved away from, released. */
  #current: Replacement;
  #last: { at: number; arrived: number } | null = null;
  /** The current resource's pushed records processed at the last observation, and its rate. */
  #processed: { session: unknown; at: number; count: number; perSecond: number | null } | null =
    null;
  #busy: Promise<void> | null = null;
  #sampling = false;
  #stopped = false;
  /**
   * A resource of the size the policy leans to, warming before it decides: a grow takes it
   * instead of starting one then. Released when the lean goes (a noisy second) or the run ends.
   */
  #spare: Spare | null = null;

  constructor(options: {
    policy: ResizePolicy;
    run: MovableRun;
    first: Replacement;
    commit: LiveCommit;
    provision: (cores: number) => Promise<Replacement>;
    release: (resource: Replacement) => Promise<void>;
    onResize?: (resize: LiveResize) => void;
  }) {
    this.#policy = options.policy;
    this.#run = options.run;
    this.#current = options.first;
    this.#commit = options.commit;
    this.#provision = options.provision;
    this.#release = options.release;
    this.#onResize = options.onResize;
  }

  /** Cores the run has now. */
  get cores(): number {
    return this.#policy.cores;
  }

  /**
   * The run's resource died and `resource` (of the size it had, {@link cores}) replaces it:
   * the next resize moves the run from there and releases that one.
   */
  replaced(resource: Replacement): void {
    this.#current = resource;
  }

  /** The last forecast (records/s, `lead` seconds ahead). */
  get forecast(): number {
    return this.#policy.forecast;
  }

  /** One observation; a decision is carried out in the background. Never throws. */
  async tick(now = Date.now()): Promise<void> {
    if (this.#stopped || this.#sampling) return;
    this.#sampling = true;
    try {
      const lags = await Promise.all(
        [...this.#commit.sources.values()].map((s) => s.lag().catch(() => undefined)),
      );
      if (lags.some((l) => l === undefined || l === null)) return;
      const lag = lags.reduce<number>((sum, l) => sum + (l ?? 0), 0);
      // Acknowledged by this run + not acknowledged (pending, or delivered and not acknowledged
      // yet): every message that reached the groups since the run began, counted once
      // whatever is being read, pushed or committed when the lag is asked.
      const arrived = this.#commit.acknowledged + lag;
      this.#observeProcessed(now);
      const last = this.#last;
      this.#last = { at: now, arrived };
      if (last === null || now - last.at < 200) return;
      const rate = Math.max(0, ((arrived - last.arrived) * 1000) / (now - last.at));
      const decision = this.#policy.observe({ at: now, records_per_second: rate, lag });
      if (decision !== null && !this.#stopped) this.#busy = this.#resize(decision, now);
      else this.#prepare();
    } finally {
      this.#sampling = false;
    }
  }

  /** The current resource's processing rate, from its pushed records processed between observations. */
  #observeProcessed(now: number): void {
    const session = this.#run.current;
    const count = session.pushedProcessed;
    const last = this.#processed;
    if (last === null || last.session !== session) {
      this.#processed = { session, at: now, count, perSecond: null };
      return;
    }
    if (now - last.at < 200) return;
    this.#processed = {
      session,
      at: now,
      count,
      perSecond: ((count - last.count) * 1000) / (now - last.at),
    };
  }

  /**
   * Records per source a growing run keeps pushed ahead of what its resource has processed:
   * {@link AHEAD_SECONDS} of its measured rate (else of what its cores carry at the
   * predictor's CPU per record).
   */
  #aheadLimit(fromCores: number): number {
    const measured = this.#processed?.perSecond;
    const perSecond =
      measured !== null && measured !== undefined && measured > 0
        ? measured
        : (fromCores * 1e6) / this.#policy.cpuUsPerRecord;
    return Math.min(MAX_AHEAD, Math.max(1, Math.round(perSecond * AHEAD_SECONDS)));
  }

  /** No more resizes; waits for one under way (its move done, or its resource released), drops a spare. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#busy;
    await this.#dropSpare();
  }

  /**
   * After an observation without a decision: warms a spare of the size the policy leans to
   * (one observation short of growing), or drops the spare when it no longer leans to it.
   */
  #prepare(): void {
    const leaning = this.#stopped ? null : this.#policy.leaning;
    if (leaning !== null && leaning <= this.#policy.cores) return;
    if (this.#spare !== null && this.#spare.cores === leaning) return;
    void this.#dropSpare();
    if (leaning === null) return;
    const spare: Spare = {
      cores: leaning,
      started: performance.now(),
      readyAt: null,
      resource: this.#provision(leaning).then(
        (resource) => {
          spare.readyAt = performance.now();
          return resource;
        },
        () => {
          this.spares.failed++;
          return null;
        },
      ),
    };
    this.#spare = spare;
    this.spares.started++;
    // Behind already, probably: what is pushed ahead is kept short from now, so the move
    // (if the policy decides) does not wait for a queue that filled meanwhile.
    this.#commit.aheadLimit = this.#aheadLimit(this.#policy.cores);
  }

  /** Releases the spare, if any (once it is up, when it is still warming). */
  async #dropSpare(): Promise<void> {
    const spare = this.#spare;
    if (spare === null) return;
    this.#spare = null;
    this.#commit.aheadLimit = null;
    const resource = await spare.resource;
    if (resource === null) return;
    this.spares.released++;
    await this.#release(resource).catch(() => undefined);
  }

  async #resize(decision: ResizeDecision, decidedAt: number): Promise<void> {
    const entry: LiveResize = {
      at: new Date(decidedAt).toISOString(),
      direction: decision.direction,
      from: { cpu_cores: decision.from_cores, resource_id: this.#current.rac.resource_id },
      to: { cpu_cores: decision.to_cores, resource_id: null },
      reason: decision.reason,
      forecast_records_per_second: decision.forecast_records_per_second,
      needed_records_per_second: decision.needed_records_per_second,
      lead_seconds: decision.lead_seconds,
      lag: decision.lag,
      warm_ms: null,
      switched_at: null,
      pause_ms: null,
    };
    this.resizes.push(entry);
    const started = performance.now();
    // A spare of this size has been warming since the policy leaned to it; one of another
    // size is not wanted any more.
    const spare = this.#spare?.cores === decision.to_cores ? this.#spare : null;
    if (spare !== null) this.#spare = null;
    else void this.#dropSpare();
    const warming = async (): Promise<{ resource: Replacement; from: number; at: number }> => {
      const ready = spare === null ? null : await spare.resource;
      if (ready !== null) {
        this.spares.used++;
        entry.prewarmed_ms = Math.round(started - spare!.started);
        return { resource: ready, from: spare!.started, at: spare!.readyAt ?? performance.now() };
      }
      const from = performance.now();
      const resource = await this.#provision(decision.to_cores);
      return { resource, from, at: performance.now() };
    };
    const provisioning = warming().then(
      ({ resource, from, at }) => {
        entry.warm_ms = Math.round(at - from);
        entry.to.resource_id = resource.rac.resource_id;
        return resource;
      },
      (error: unknown) => {
        entry.error = `no resource of ${decision.to_cores} cores: ${(error as Error).message}`;
        return null;
      },
    );
    // The flow runs on the old resource while the new one warms and moves at the first commit
    // after. Growing, it is behind: what is pushed ahead of what it has processed is held to
    // a short while of its work, so it keeps working and the move waits for little.
    const growing = decision.direction === 'grow';
    if (growing) this.#commit.aheadLimit = this.#aheadLimit(decision.from_cores);
    const next = await provisioning;
    if (next === null) {
      if (growing) this.#commit.aheadLimit = null;
      this.#refused(entry);
      return;
    }
    const previous = this.#current;
    const pauseStart = performance.now();
    try {
      await this.#commit.checkpoint(async () => {
        const from = this.#run.current;
        await this.#run.moveTo(next, this.#commit.countsFor(from));
        this.#commit.forget(from);
      });
    } catch (error) {
      // The run fails with it (the live commit's gate passes the error to the feeders).
      entry.error = `the move failed: ${(error as Error).message}`;
      this.#onResize?.(entry);
      const unused = await provisioning;
      if (unused !== null && unused.rac.resource_id !== this.#run.current.rac.resource_id)
        await this.#release(unused).catch(() => undefined);
      return;
    } finally {
      if (growing) this.#commit.aheadLimit = null;
    }
    entry.pause_ms = Math.round(performance.now() - pauseStart);
    entry.switched_at = new Date().toISOString();
    this.#current = next;
    this.#policy.resized(decision.to_cores, Date.now(), performance.now() - started);
    this.#onResize?.(entry);
    await this.#release(previous).catch(() => undefined);
  }

  /** A resize not carried out: the flow runs on where it was. */
  #refused(entry: LiveResize): void {
    this.#policy.refused(Date.now());
    this.#onResize?.(entry);
  }
}
