import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ValidationError, WarmflowError, type ErrorCode, type Problem } from '../errors.js';
import type { Dcp } from '../profiler/dcp.js';
import type { FlowSpec, Template } from '../template/types.js';
import type { BodyPieces, CompileBodyResult, ProfileBodyResult } from './ports.js';

/**
 * The work the process does: compile a flow file, or profile records (in memory or a file).
 * A raw request body (`body`) is in the pieces it arrived in; in the process, it is one buffer.
 */
export type BackgroundJob<Body = BodyPieces> =
  | { kind: 'compile'; text: string; file: string | undefined }
  | { kind: 'compile-body'; body: Body; file: string | undefined; maxDepth?: number }
  | { kind: 'profile'; input: unknown[] | string; sample: number }
  | { kind: 'profile-body'; body: Body; sample: number; maxDepth: number };

/** A job as the process sees it: a raw body joined into one buffer. */
export type ProcessJob = BackgroundJob<Uint8Array>;

/** What each kind of job answers with. */
interface Results {
  compile: { spec: FlowSpec; template: Template };
  'compile-body': CompileBodyResult;
  profile: Dcp;
  'profile-body': ProfileBodyResult;
}

/**
 * What the server sends the process: one job, by id. A job with a raw body goes without it,
 * saying how many bytes it has; the bytes follow on the process's body pipe (its fd
 * {@link BODY_FD}), written as the pieces they arrived in. Serialising a megabyte into an IPC
 * message copied it into fresh buffers on the event loop — new memory the kernel faults in page
 * by page, 5-10 ms a megabyte on a virtual machine — where a pipe write takes the pieces as
 * they are.
 */
export interface BackgroundRequest {
  id: number;
  job: BackgroundJob<undefined>;
  bodyBytes?: number;
}

/** The process's file descriptor the raw bodies of jobs arrive on, in job order. */
export const BODY_FD = 4;

/** What the process sends back: the job's value or its error, by job id. */
export type BackgroundAnswer =
  | { id: number; value: unknown }
  | {
      id: number;
      error: { code?: ErrorCode; message: string; hint?: string; problems?: Problem[] };
    };

/** The process's heap: a request body is at most a few MiB, so this leaves room for any legal one. */
export const BACKGROUND_HEAP_MB = 256;

/** The lowest CPU priority (nice 19): the process and every thread of it run at it. */
export const BACKGROUND_PRIORITY = 19;

interface Waiting {
  job: BackgroundJob;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * The server's CPU-heavy work in one child process of its own at the lowest CPU priority:
 * parsing and inferring flow files (a megabyte of YAML takes the parser hundreds of
 * milliseconds) and profiling posted records or a source file (a megabyte of records, hundreds
 * more). None of it holds the event loop that answers every other tenant, and when the cores are
 * busy the threads that answer requests go first — including the garbage collector's: in a
 * process of its own, the work's GC helper threads run at nice 19 too (a worker thread shares
 * the server's, at normal priority, and more than half of this work's time is GC). Only
 * warmflow's parsers and profiler run there, never tenant code.
 *
 * Tenants take turns (round robin, one job in the process at a time), so a tenant sending many
 * heavy requests waits behind its own while another tenant's job waits for at most one job of
 * each other tenant; a job whose request was abandoned (its `signal` aborted) leaves the queue
 * unrun. The process starts with the first job; its heap is capped: a job that would exhaust it
 * ends the process (its request answers 400, the next job starts a new process), never the
 * server, and so does a process killed under a job. {@link BackgroundProcess.close} stops it (the server does when
 * it closes); a process whose server died exits when its IPC channel closes.
 *
 * ```ts
 * const background = new BackgroundProcess();
 * const { template } = await background.compile(text, undefined, tenantId, c.req.raw.signal);
 * const dcp = await background.profile(records, { sample: 20_000 }, tenantId);
 * await background.close();
 * ```
 */
export class BackgroundProcess {
  #child: ChildProcess | undefined;
  #next = 0;
  /** The job in the process, by id (at most one). */
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

  /**
   * {@link compile} from a request body's raw bytes: the process decodes them, refuses an
   * empty body and, given `maxDepth` (a JSON body), one nested deeper.
   */
  compileBody(
    body: BodyPieces,
    file: string | undefined,
    options: { maxDepth?: number },
    tenant = '',
    signal?: AbortSignal,
  ): Promise<Results['compile-body']> {
    const job: BackgroundJob = { kind: 'compile-body', body, file };
    if (options.maxDepth !== undefined) job.maxDepth = options.maxDepth;
    return this.#enqueue(job, tenant, signal);
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

  /**
   * Profiles a `POST /v1/profiles` JSON body from its raw bytes: the process decodes it,
   * checks its depth against `maxDepth`, parses and validates it, then profiles its records
   * (a body naming a source comes back as that source, for the route to resolve).
   */
  profileBody(
    body: BodyPieces,
    options: { sample: number; maxDepth: number },
    tenant = '',
    signal?: AbortSignal,
  ): Promise<Results['profile-body']> {
    return this.#enqueue(
      { kind: 'profile-body', body, sample: options.sample, maxDepth: options.maxDepth },
      tenant,
      signal,
    );
  }

  /** How many jobs wait (not counting the one in the process). */
  get waiting(): number {
    let count = 0;
    for (const queue of this.#waiting.values()) count += queue.length;
    return count;
  }

  /** The process's id while one runs (started by the first job), for operators and tests. */
  get pid(): number | undefined {
    return this.#child?.pid;
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
          if (at === -1) return; // already in the process: it finishes, its answer is dropped
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

  /** Sends the next tenant's next job to the process when the process is free. */
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
    const child = this.#process();
    const id = this.#next++;
    this.#running.set(id, waiting);
    // While a job runs, the process keeps the server's loop alive (a CLI awaits its answer).
    child.ref();
    child.channel?.ref();
    // A process that died before reading its job: its exit fails the job.
    const failed = (error: Error | null | undefined) => {
      if (error) child.kill('SIGKILL');
    };
    const job = waiting.job;
    if (job.kind === 'compile-body' || job.kind === 'profile-body') {
      const bodyBytes = job.body.reduce((sum, piece) => sum + piece.length, 0);
      child.send(
        { id, job: { ...job, body: undefined }, bodyBytes } satisfies BackgroundRequest,
        failed,
      );
      const pipe = child.stdio[BODY_FD] as Writable;
      for (const piece of job.body) pipe.write(piece, failed);
    } else child.send({ id, job } satisfies BackgroundRequest, failed);
  }

  /** Stops the process (a later job starts a new one); a job in it answers as over the limit. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGKILL');
    await ended;
  }

  #process(): ChildProcess {
    if (this.#child !== undefined) return this.#child;
    const child = spawnBackgroundProcess();
    idle(child);
    child.on('message', (answer: BackgroundAnswer) => {
      const running = this.#running.get(answer.id);
      if (running === undefined) return;
      this.#running.delete(answer.id);
      idle(child);
      if ('error' in answer) running.reject(rebuild(answer.error));
      else running.resolve(answer.value);
      this.#dispatch();
    });
    // The last of what it wrote to stderr says why it ended (V8 reports an exhausted heap there).
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    const fail = (why: string) => {
      if (this.#child === child) this.#child = undefined;
      child.kill('SIGKILL');
      for (const [id, running] of this.#running) {
        this.#running.delete(id);
        running.reject(overLimit(running.job, why));
      }
      this.#dispatch();
    };
    child.on('error', (error) => fail(`the background process failed: ${error.message}`));
    // `close` (not `exit`): stderr has been read to its end by then.
    child.on('close', (code, signal) => fail(ended(code, signal, stderr)));
    this.#child = child;
    return child;
  }
}

/** Lets the server's loop end while the process waits for work (it is unreferenced when idle). */
function idle(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
  (child.stderr as Socket | null)?.unref();
  (child.stdio[BODY_FD] as Socket | null)?.unref();
}

/** Why the process ended, in words fit for a tenant (nothing it wrote is quoted). */
function ended(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  if (/heap out of memory|heap limit/i.test(stderr))
    return `its heap of ${BACKGROUND_HEAP_MB} MiB was exhausted`;
  return signal !== null
    ? `its process was stopped by ${signal}`
    : `its process exited with code ${code}`;
}

/** The error of a job whose request was abandoned before its turn (nobody reads it). */
function abandoned(): WarmflowError {
  return new WarmflowError('E_ABORTED', 'the request was abandoned before its turn');
}

/** The error of a job the process could not finish (its heap was exhausted, or it was stopped). */
function overLimit(job: BackgroundJob, why: string): Error {
  if (job.kind === 'compile' || job.kind === 'compile-body')
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

/**
 * Starts the process: compiled (dist) the entry is a `.js` file Node runs directly; from source
 * (tests, tsx) it is `.ts`, run through tsx's loader, given as an absolute URL. The server's own
 * `execArgv` (a profiler's flags, say) is not passed on. The process is lowered to nice 19 here
 * at once, and lowers every thread it has when its entry runs (on Linux a priority is per
 * thread, and V8's threads may have started before this call).
 */
function spawnBackgroundProcess(): ChildProcess {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(
    new URL(fromSources ? './background-entry.ts' : './background-entry.js', import.meta.url),
  );
  const execArgv = [`--max-old-space-size=${BACKGROUND_HEAP_MB}`];
  if (fromSources) execArgv.push('--import', import.meta.resolve('tsx'));
  const child = fork(entry, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'],
  });
  // A process that dies under a write: its `close` fails the job, the pipe's error is not news.
  (child.stdio[BODY_FD] as Socket | null)?.on('error', () => {});
  if (child.pid !== undefined) {
    try {
      os.setPriority(child.pid, BACKGROUND_PRIORITY);
    } catch {
      // a sandbox without the call, or the process already gone: its entry tries again
    }
  }
  return child;
}
