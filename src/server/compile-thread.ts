import { Worker } from 'node:worker_threads';
import { ValidationError, WarmflowError, type ErrorCode, type Problem } from '../errors.js';
import type { FlowSpec, Template } from '../template/types.js';

interface Pending {
  resolve: (value: { spec: FlowSpec; template: Template }) => void;
  reject: (error: unknown) => void;
}

type Answer =
  | { id: number; spec: FlowSpec; template: Template }
  | {
      id: number;
      error: { code?: ErrorCode; message: string; hint?: string; problems?: Problem[] };
    };

/**
 * Parses and infers flow files on a thread of their own, so a large or hostile flow file
 * (a megabyte of YAML takes the parser hundreds of milliseconds) never holds the event loop
 * that answers every other tenant. The thread's heap is capped: a document that would
 * exhaust it ends the thread (its request answers 400, the next one starts a new thread),
 * never the server. Requests queue in order on the one thread.
 */
export class FlowCompiler {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, Pending>();
  /** Documents waiting, per tenant; tenants take turns, one document on the thread at a time. */
  #lastTenant: string | undefined;
  readonly #waiting = new Map<
    string,
    Array<{ text: string; file: string | undefined } & Pending>
  >();

  /**
   * Compiles one flow file. Tenants take turns on the thread (round robin, one document at a
   * time), so a tenant posting many large documents waits behind its own, while another
   * tenant's flow waits for at most one document of each other tenant.
   */
  compile(
    text: string,
    file: string | undefined,
    tenant = '',
  ): Promise<{ spec: FlowSpec; template: Template }> {
    return new Promise((resolve, reject) => {
      let queue = this.#waiting.get(tenant);
      if (queue === undefined) {
        queue = [];
        this.#waiting.set(tenant, queue);
      }
      queue.push({ text, file, resolve, reject });
      this.#dispatch();
    });
  }

  /** Sends the next tenant's next document to the thread when the thread is free. */
  #dispatch(): void {
    if (this.#pending.size > 0) return;
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
    const job = queue.shift()!;
    // The tenant goes to the back of the turn order (Map order is insertion order).
    this.#waiting.delete(tenant);
    if (queue.length > 0) this.#waiting.set(tenant, queue);
    const worker = this.#thread();
    const id = this.#next++;
    this.#pending.set(id, {
      resolve: (value) => {
        job.resolve(value);
        this.#dispatch();
      },
      reject: (error) => {
        job.reject(error);
        this.#dispatch();
      },
    });
    worker.ref();
    worker.postMessage({ id, text: job.text, file: job.file });
  }

  /** Stops the thread (a later compile starts a new one). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = spawnCompileThread();
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const pending = this.#pending.get(answer.id);
      if (pending === undefined) return;
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) worker.unref();
      if ('error' in answer) pending.reject(rebuild(answer.error));
      else pending.resolve({ spec: answer.spec, template: answer.template });
    });
    const fail = (why: string) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.reject(
          new ValidationError('flow', [
            {
              code: 'E_LIMIT',
              message: `parsing the flow file needed more than the parser is given (${why}): shorten or simplify it`,
            },
          ]),
        );
      }
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`the parser stopped with code ${code}`));
    this.#worker = worker;
    return worker;
  }
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

/** The compile thread's heap: a flow file is at most 1 MiB, so this leaves room for any legal one. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 };

/**
 * Compiled (dist) the entry is a `.js` file Node runs directly; from source (tests, tsx) it is
 * `.ts`, and the thread first registers tsx's loader, then imports it.
 */
function spawnCompileThread(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js'))
    return new Worker(new URL('./compile-entry.js', here), { resourceLimits: RESOURCE_LIMITS });
  const entry = new URL('./compile-entry.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, resourceLimits: RESOURCE_LIMITS });
}
