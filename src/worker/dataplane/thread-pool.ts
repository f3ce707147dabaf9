import { setFlagsFromString } from 'node:v8';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { WarmflowError } from '../../errors.js';
import { tokenDigest } from '../protocol.js';
import type { WarmSpec } from '../worker-contract.js';
import type { WorkerGrant } from '../../template/types.js';
import type { ChannelIdentity } from './output-channels.js';
import type { DeployTemplate } from './deploy-spec.js';
import type { FromThread, ToThread } from './thread-messages.js';
import { moduleThread } from '../../threads/module-thread.js';
import { claimRunCounters, fitsRunCounters, newRunCounters, runTag } from './run-counters.js';

/** Listener of one thread's messages, with the thread's index. */
export type ThreadListener = (index: number, message: FromThread) => void;

/**
 * Starts the worker_threads of a data plane: a full mesh of MessageChannels between them
 * (the keyed exchange goes thread to thread, never through the main thread), then warms
 * each (function modules imported, store connections opened) and resolves when all are ready.
 */
export class ThreadPool {
  readonly threads: Worker[] = [];
  #listener: ThreadListener = () => undefined;
  #onExit: (index: number, reason: string) => void = () => undefined;
  #closing = false;
  /** Who waits for each thread's `listening` answer. */
  readonly #listening: Array<
    ((answer: Extract<FromThread, { k: 'listening' }>) => void) | undefined
  > = [];
  /** Deploy templates every thread holds, least recently used first. */
  readonly #templates = new Set<string>();

  /** The counters every thread holds for the next run (see `run-counters.ts`). */
  #next = newRunCounters();

  private constructor() {}

  /**
   * The counters run `executionId` of `sources` sources is deployed with (claimed for it), and
   * those of the next run, which go to every thread with this run's deploy. They are the ones
   * the threads hold when a thread may have taken the run from its channel already; counters
   * another run has claimed (a run a thread took that never came here) are never used again.
   */
  counters(
    sources: number,
    executionId: string,
  ): { counters: SharedArrayBuffer; next: SharedArrayBuffer } {
    const tag = runTag(executionId);
    let counters = this.#next;
    if (!fitsRunCounters(counters, sources) || !claimRunCounters(counters, tag)) {
      counters = newRunCounters(sources);
      claimRunCounters(counters, tag);
    }
    this.#next = newRunCounters();
    return { counters, next: this.#next };
  }

  /**
   * The counters for a warm-up run: the next run's, claimed for it, unless a thread has
   * claimed them for a run it took from its channel (null: the warm-up gives way to that run,
   * which a warm-up's deploy would drop).
   */
  warmUpCounters(
    executionId: string,
  ): { counters: SharedArrayBuffer; next: SharedArrayBuffer } | null {
    if (!claimRunCounters(this.#next, runTag(executionId))) return null;
    const counters = this.#next;
    this.#next = newRunCounters();
    return { counters, next: this.#next };
  }

  /**
   * Whether every thread holds deploy template `id`; when not, it is counted as held from
   * now (the caller sends it with the deploy) and the template they drop for it, if any, is
   * returned (the caller tells them so with the same deploy).
   */
  hold(id: string): { held: boolean; forget?: string } {
    if (this.#templates.delete(id)) {
      this.#templates.add(id);
      return { held: true };
    }
    this.#templates.add(id);
    if (this.#templates.size <= TEMPLATES_HELD) return { held: false };
    const forget = this.#templates.values().next().value!;
    this.#templates.delete(forget);
    return { held: false, forget };
  }

  /** Sends deploy template `id` to every thread that does not hold it yet, ahead of any run naming it. */
  preload(id: string, template: DeployTemplate): void {
    const { held, forget } = this.hold(id);
    if (held) return;
    this.broadcast({ k: 'template', id, template, ...(forget !== undefined ? { forget } : {}) });
  }

  /**
   * `memoryGb`: the resource's memory, which bounds how large the threads' young generation
   * starts when the resource warms up (`warm.warm_up`, see {@link startYoungGeneration}).
   * Otherwise it starts as V8 starts it: a larger one costs each thread ~7 ms to start, which
   * an on-demand resource (its run comes at once, there is no warm-up to use it) would pay.
   */
  static async start(count: number, warm: WarmSpec, memoryGb?: number): Promise<ThreadPool> {
    if (memoryGb !== undefined && warm.warm_up === true) startYoungGeneration(count, memoryGb);
    const pool = new ThreadPool();
    const ports: Array<Array<MessagePort | null>> = Array.from({ length: count }, () =>
      new Array<MessagePort | null>(count).fill(null),
    );
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        const channel = new MessageChannel();
        ports[i][j] = channel.port1;
        ports[j][i] = channel.port2;
      }
    }
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const thread = spawnThread();
      pool.threads.push(thread);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onEarlyExit = (code: number) =>
            reject(
              new WarmflowError(
                'E_THREAD',
                `data-plane thread ${i} exited with code ${code} while warming`,
              ),
            );
          thread.once('error', reject);
          thread.once('exit', onEarlyExit);
          let warmed = false;
          thread.on('message', (message: FromThread) => {
            if (message.k === 'ready') {
              warmed = true;
              thread.off('error', reject);
              thread.off('exit', onEarlyExit);
              resolve();
            } else if (message.k === 'listening') pool.#listening[i]?.(message);
            else if (message.k === 'failed' && !warmed)
              reject(new WarmflowError(message.error.code, message.error.message));
            else pool.#listener(i, message);
          });
        }),
      );
      const peers = ports[i];
      thread.postMessage(
        { k: 'warm', warm, index: i, count, peers, next: pool.#next },
        peers.filter((p): p is MessagePort => p !== null),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    pool.threads.forEach((thread, i) => {
      thread.on('error', (error) => pool.#exited(i, `thread error: ${error.message}`));
      thread.on('exit', (code) => pool.#exited(i, `thread exited with code ${code}`));
    });
    return pool;
  }

  /**
   * Opens every thread's output channel (`OutputChannels`) on `host`, a loopback address or
   * `unix:/path` (thread i's socket file is `/path.i`); resolves with their addresses.
   */
  async openChannels(
    host: string,
    token: string,
    identity: ChannelIdentity,
    grant?: WorkerGrant,
  ): Promise<string[]> {
    return Promise.all(
      this.threads.map(
        (thread, i) =>
          new Promise<string>((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(
                  new WarmflowError('E_THREAD', `thread ${i} did not open its output channel`),
                ),
              10_000,
            );
            this.#listening[i] = (answer) => {
              clearTimeout(timer);
              this.#listening[i] = undefined;
              if (answer.address !== undefined) resolve(answer.address);
              else
                reject(
                  new WarmflowError(
                    'E_THREAD',
                    `thread ${i} cannot open its output channel: ${answer.error}`,
                  ),
                );
            };
            thread.postMessage({
              k: 'listen',
              host: host.startsWith('unix:') ? `${host}.${i}` : host,
              // The thread runs tenant code: it gets what checks the token, not the token.
              digest: tokenDigest(token),
              identity,
              ...(grant !== undefined ? { grant } : {}),
            } satisfies ToThread);
          }),
      ),
    );
  }

  /** Sets who receives thread messages (the current run). */
  listen(listener: ThreadListener, onExit: (index: number, reason: string) => void): void {
    this.#listener = listener;
    this.#onExit = onExit;
  }

  post(index: number, message: ToThread): void {
    this.threads[index].postMessage(message);
  }

  broadcast(message: ToThread): void {
    for (const thread of this.threads) thread.postMessage(message);
  }

  #exited(index: number, reason: string): void {
    if (!this.#closing) this.#onExit(index, reason);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** A data-plane thread (see {@link moduleThread}). */
function spawnThread(): Worker {
  return moduleThread(import.meta.url, 'thread-entry', { resourceLimits: YOUNG });
}

let youngSized = false;

/**
 * Makes the isolates created from now on (this process's data-plane threads; the main
 * thread's exists already) start with the young generation at the size a run grows it to
 * ({@link YOUNG}: two semi-spaces of half of it), within a quarter of the resource's memory
 * over `threads` threads. V8 starts small and doubles the young generation only after enough
 * bytes survived, so a resource's first run paid for the growth midway — on this kind of VM
 * ~7,000 page faults per thread, a scavenge of 15–20 ms each time it doubled — and a warm-up
 * could not reach the size. Pages are still touched only as they are used. Once per process.
 */
function startYoungGeneration(threads: number, memoryGb: number): void {
  if (youngSized) return;
  youngSized = true;
  const perThreadMb = (memoryGb * 1024) / 4 / Math.max(1, threads);
  const semiSpaceMb = Math.min(YOUNG.maxYoungGenerationSizeMb / 2, Math.floor(perThreadMb / 2));
  if (semiSpaceMb >= 2) setFlagsFromString(`--min-semi-space-size=${semiSpaceMb}`);
}

/** Deploy templates the threads keep (with their compiled graphs). */
const TEMPLATES_HELD = 16;

/**
 * A larger young generation for the data-plane threads: a run keeps a few chunks of freshly
 * parsed records alive at a time, and with V8's default semi-space those survive a
 * scavenge and are copied; at 64 MiB most die young, which saves a measurable share of CPU.
 */
const YOUNG = { maxYoungGenerationSizeMb: 64 };
