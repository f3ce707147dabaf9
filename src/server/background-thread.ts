import { Worker } from 'node:worker_threads';
import { ValidationError, WarmflowError, type ErrorCode, type Problem } from '../errors.js';
import type { Dcp } from '../profiler/dcp.js';
import type { FlowSpec, Template } from '../template/types.js';

/** The work the thread does: compile a flow file, or profile records (in memory or a file). */
export type BackgroundJob =
  | { kind: 'compile'; text: string; file: string | undefined }
  | { kind: 'profile'; input: unknown[] | string; sample: number };

/** What each kind of job answers with. */
interface Results {
  compile: { spec: FlowSpec; template: Template };
  profile: Dcp;
}

/** What the thread sends back: the job's value or its error, by job id. */
export type BackgroundAnswer =
  | { id: number; value: unknown }
  | {
      id: number;
      error: { code?: ErrorCode; message: string; hint?: string; problems?: Problem[] };
    };

interface Waiting {
  job: BackgroundJob;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * The server's CPU-heavy work on one thread of its own at the lowest CPU priority: parsing and
 * inferring flow files (a megabyte of YAML takes the parser hundreds of milliseconds) and
 * profiling posted records or a source file (a megabyte of records, hundreds more). None of it
 * holds the event loop that answers every other tenant, and when the cores are busy the threads
 * that answer requests go first.
 *
 * Tenants take turns (round robin, one job on the thread at a time), so a tenant sending many
 * heavy requests waits behind its own while another tenant's job waits for at most one job of
 * each other tenant; a job whose request was abandoned (its `signal` aborted) leaves the queue
 * unrun. The thread's heap is capped: a job that would exhaust it ends the thread (its request
 * answers 400, the next job starts a new thread), never the server.
 *
 * ```ts
 * const thread = new BackgroundThread();
 * const { template } = await thread.compile(text, undefined, tenantId, c.req.raw.signal);
 * const dcp = await thread.profile(records, { sample: 20_000 }, tenantId);
 * ```
 */
export class BackgroundThread {
  #worker: Worker | undefined;
  #next = 0;
  /** The job on the thread, by id (at most one). */
  readonly #running = new Map<number, Waiting>();
  #lastTenant: string | undefined;
  /** Jobs waiting, per tenant, tenants in turn order (Map order is insertion order). */
  readonly #waiting = new Map<string, Waiting[]>();

  /** Parses and infers one flow file (what `compileFlowText` answers, or its error). */
  compile(
    text: string,
    file: string | undefined,
    tenant = '',
    signal?: AbortSignal,
  ): Promise<Results['compile']> {
    return this.#enqueue({ kind: 'compile', text, file }, tenant, signal);
  }

  /** Profiles records, or the source file at a path already checked against the tenant's area. */
  profile(
    input: unknown[] | string,
    options: { sample: number },
    tenant = '',
    signal?: AbortSignal,
  ): Promise<Results['profile']> {
    return this.#enqueue({ kind: 'profile', input, sample: options.sample }, tenant, signal);
  }

  /** How many jobs wait (not counting the one on the thread). */
  get waiting(): number {
    let count = 0;
    for (const queue of this.#waiting.values()) count += queue.length;
    return count;
  }

  #enqueue<K extends BackgroundJob['kind']>(
    job: Extract<BackgroundJob, { kind: K }>,
    tenant: string,
    signal: AbortSignal | undefined,
  ): Promise<Results[K]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abandoned());
        return;
      }
      let queue = this.#waiting.get(tenant);
      if (queue === undefined) {
        queue = [];
        this.#waiting.set(tenant, queue);
      }
      const waiting: Waiting = {
        job,
        resolve: resolve as (value: unknown) => void,
        reject,
        signal,
        onAbort: () => {
          const at = this.#waiting.get(tenant)?.indexOf(waiting) ?? -1;
          if (at === -1) return; // already on the thread: it finishes, its answer is dropped
          this.#waiting.get(tenant)!.splice(at, 1);
          if (this.#waiting.get(tenant)!.length === 0) this.#waiting.delete(tenant);
          reject(abandoned());
        },
      };
      signal?.addEventListener('abort', waiting.onAbort, { once: true });
      queue.push(waiting);
      this.#dispatch();
    });
  }

  /** Sends the next tenant's next job to the thread when the thread is free. */
  #dispatch(): void {
    if (this.#running.size > 0) return;
    if (this.#waiting.size === 0) return;
    // The first tenant waiting that did not have the last turn (or the only one waiting).
    let chosen: string | undefined;
    for (const tenant of this.#waiting.keys())
      if (tenant !== this.#lastTenant) {
        chosen = tenant;
        break;
      }
    const tenant = chosen ?? this.#lastTenant!;
    const queue = this.#waiting.get(tenant)!;
    this.#lastTenant = tenant;
    const waiting = queue.shift()!;
    waiting.signal?.removeEventListener('abort', waiting.onAbort);
    // The tenant goes to the back of the turn order.
    this.#waiting.delete(tenant);
    if (queue.length > 0) this.#waiting.set(tenant, queue);
    const worker = this.#thread();
    const id = this.#next++;
    this.#running.set(id, waiting);
    worker.ref();
    worker.postMessage({ id, job: waiting.job });
  }

  /** Stops the thread (a later job starts a new one). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = spawnBackgroundThread();
    worker.unref();
    worker.on('message', (answer: BackgroundAnswer) => {
      const running = this.#running.get(answer.id);
      if (running === undefined) return;
      this.#running.delete(answer.id);
      worker.unref();
      if ('error' in answer) running.reject(rebuild(answer.error));
      else running.resolve(answer.value);
      this.#dispatch();
    });
    const fail = (why: string) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const [id, running] of this.#running) {
        this.#running.delete(id);
        running.reject(overLimit(running.job, why));
      }
      this.#dispatch();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`the thread stopped with code ${code}`));
    this.#worker = worker;
    return worker;
  }
}

/** The error of a job whose request was abandoned before its turn (nobody reads it). */
function abandoned(): WarmflowError {
  return new WarmflowError('E_ABORTED', 'the request was abandoned before its turn');
}

/** The error of a job the thread could not finish (its heap was exhausted, or it was stopped). */
function overLimit(job: BackgroundJob, why: string): Error {
  if (job.kind === 'compile')
    return new ValidationError('flow', [
      {
        code: 'E_LIMIT',
        message: `parsing the flow file needed more than the parser is given (${why}): shorten or simplify it`,
      },
    ]);
  return new ValidationError('profile', [
    {
      code: 'E_LIMIT',
      message: `profiling the records needed more than the profiler is given (${why}): send fewer or smaller records`,
    },
  ]);
}

function rebuild(error: {
  code?: ErrorCode;
  message: string;
  hint?: string;
  problems?: Problem[];
}): Error {
  if (error.problems !== undefined) {
    const rebuilt = new ValidationError('flow', error.problems);
    rebuilt.message = error.message;
    return rebuilt;
  }
  if (error.code !== undefined)
    return new WarmflowError(
      error.code,
      error.message,
      error.hint === undefined ? {} : { hint: error.hint },
    );
  return new Error(error.message);
}

/** The thread's heap: a request body is at most a few MiB, so this leaves room for any legal one. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 };

/**
 * Compiled (dist) the entry is a `.js` file Node runs directly; from source (tests, tsx) it is
 * `.ts`, and the thread first registers tsx's loader, then imports it.
 */
function spawnBackgroundThread(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js'))
    return new Worker(new URL('./background-entry.js', here), { resourceLimits: RESOURCE_LIMITS });
  const entry = new URL('./background-entry.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, resourceLimits: RESOURCE_LIMITS });
}
