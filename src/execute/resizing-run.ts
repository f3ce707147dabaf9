import {
  mergeNodeStats,
  type DeploySpec,
  type RunResult,
} from '../worker/dataplane/deploy-spec.js';
import type { Replacement } from './recovery.js';
import { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/**
 * One resource's part of a live run that may move to a resource of another size while it
 * runs. Each resource runs the same spec, deployed with `handover`: when the run moves
 * ({@link ResizingRun.moveTo}, called at a live commit, so everything pushed is processed,
 * written and acknowledged and nothing is being pushed), the current resource is ended
 * (`df.end` with the batches it was pushed) and hands over its keyed state with its answer;
 * the next resource, already warm, is given that state with `df.run` and the run goes on
 * there. {@link ResizingRun.run} resolves once the last resource's run is over, with the
 * figures of every resource added up.
 */
export class ResizingRun {
  /** Every session the part ran on; the last is the current one. */
  readonly sessions: ResourceSession[] = [];
  readonly #results: RunResult[] = [];
  readonly #spec: DeploySpec;
  readonly #sinks: SinkFiles;
  readonly #stallTimeoutMs: number;
  #running: Promise<RunResult> | null = null;
  #moving: Promise<void> | null = null;

  constructor(options: {
    spec: DeploySpec;
    first: Replacement;
    sinks: SinkFiles;
    stallTimeoutMs: number;
  }) {
    this.#spec = { ...options.spec, handover: true };
    this.#sinks = options.sinks;
    this.#stallTimeoutMs = options.stallTimeoutMs;
    this.sessions.push(this.#session(options.first, undefined));
  }

  get current(): ResourceSession {
    return this.sessions[this.sessions.length - 1];
  }

  async run(): Promise<RunResult> {
    this.#running ??= this.current.run();
    for (;;) {
      const running: Promise<RunResult> = this.#running;
      let result: RunResult | undefined;
      let failure: { error: unknown } | undefined;
      try {
        result = await running;
      } catch (error) {
        failure = { error };
      }
      // Ended for a move: the run goes on on the next resource (a failed move fails the run).
      if (this.#moving !== null) await this.#moving;
      if (this.#running !== running) continue;
      if (failure !== undefined) throw failure.error;
      return mergeRunResults([...this.#results, result!]);
    }
  }

  /**
   * Moves the run to `next` (warm, already connected). The caller holds the live commit's
   * gate: `counts` are the batches pushed to the current resource per source, all of them
   * processed. Resolves once `next` was sent the run with the handed-over state.
   */
  moveTo(next: Replacement, counts: Record<string, number>): Promise<void> {
    const move = async (): Promise<void> => {
      const from = this.current;
      const running = this.#running ?? from.run();
      from.end(counts);
      this.#results.push(await running);
      const state = from.handedOver ?? undefined;
      const session = this.#session(next, state);
      this.sessions.push(session);
      this.#running = session.run();
    };
    this.#moving = move().finally(() => (this.#moving = null));
    return this.#moving;
  }

  #session(resource: Replacement, state: Buffer | undefined): ResourceSession {
    return new ResourceSession({
      client: resource.client,
      rac: resource.rac,
      warm: resource.warm,
      spec: this.#spec,
      sinks: this.#sinks,
      stallTimeoutMs: this.#stallTimeoutMs,
      ...(state !== undefined && state.length > 2 ? { payload: state } : {}),
    });
  }
}

/**
 * The figures of one part that ran on several resources in turn: records and busy time
 * added up, CPU added up, the peak of the peaks, the threads of the largest. Distinct keys
 * are the last resource's: the keyed state moved with the run, so it holds every key.
 */
export function mergeRunResults(results: readonly RunResult[]): RunResult {
  if (results.length === 1) return results[0];
  const nodes: RunResult['nodes'] = {};
  for (const result of results) mergeNodeStats(nodes, result.nodes);
  const last = results[results.length - 1];
  for (const [id, stats] of Object.entries(nodes))
    if (stats.keys !== undefined) stats.keys = last.nodes[id]?.keys ?? stats.keys;
  const stores = results.map((r) => r.first_store_write_at).filter((t): t is number => t !== null);
  return {
    nodes,
    cpu_seconds: results.reduce((sum, r) => sum + r.cpu_seconds, 0),
    peak_rss_bytes: Math.max(...results.map((r) => r.peak_rss_bytes)),
    elapsed_ms: results.reduce((sum, r) => sum + r.elapsed_ms, 0),
    threads: Math.max(...results.map((r) => r.threads)),
    first_store_write_at: stores.length === 0 ? null : Math.min(...stores),
  };
}
