import { readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import { ValidationError, WarmflowError } from '../errors.js';
import { profile } from '../profiler/profile.js';
import {
  BACKGROUND_PRIORITY,
  BODY_FD,
  type BackgroundAnswer,
  type BackgroundRequest,
  type ProcessJob,
} from './background-process.js';
import { compileFlowText } from './flow-compile.js';
import { jsonDepth } from '../sources/json-depth.js';
import type { CompileBodyResult, ProfileBodyResult } from './ports.js';
import { ProfileCreate } from './schemas.js';
import { problemsOf } from './zod-problems.js';

/**
 * Tenants' heavy work is background work: at the lowest CPU priority, the threads that answer
 * requests (and every other tenant) go first when the cores are busy. On Linux a priority is a
 * thread's, and a thread starts with its parent thread's: the server lowered this process's
 * main thread when it started it, but V8's platform threads (its GC helpers among them) may
 * have started before, so each thread there is now is lowered too.
 */
function lowerEveryThread(): void {
  try {
    os.setPriority(BACKGROUND_PRIORITY);
  } catch {
    // a sandbox without the call: the process keeps the priority it was given
  }
  if (process.platform !== 'linux') return; // elsewhere the call above was the process's
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const thread of threads) {
    try {
      os.setPriority(Number(thread), BACKGROUND_PRIORITY);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

/**
 * A `POST /v1/profiles` JSON body, end to end as the route would take it: decoded as the
 * request's text is (UTF-8, a leading BOM dropped, bad bytes replaced), refused past the depth
 * bound before any parser recurses, parsed, validated by the route's schema, then profiled.
 */
async function profileBody(
  job: Extract<ProcessJob, { kind: 'profile-body' }>,
): Promise<ProfileBodyResult> {
  const text = new TextDecoder().decode(job.body);
  if (jsonDepth(text, job.maxDepth) > job.maxDepth) return { refused: 'too_deep' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { refused: 'malformed' };
  }
  const checked = ProfileCreate.safeParse(parsed);
  if (!checked.success)
    return {
      refused: 'invalid',
      problems: problemsOf(checked.error.issues, 'body'),
    };
  const { records, source, flow_id } = checked.data;
  const flow = flow_id === undefined ? {} : { flow_id };
  if (records === undefined) return { source: source!, ...flow };
  return { dcp: await profile(records, { sample: job.sample }), ...flow };
}

/** Parses and infers a flow file; the spec goes as a plain copy (its positions stay here). */
function compile(text: string, file: string | undefined): unknown {
  const { spec, template } = compileFlowText(text, file);
  return { spec: JSON.parse(JSON.stringify(spec)) as unknown, template };
}

/**
 * A `POST /v1/flows` body as the route takes it: decoded as the request's text is, a JSON body
 * refused past the depth bound before any parser recurses, an empty one refused, then compiled.
 */
function compileBody(job: Extract<ProcessJob, { kind: 'compile-body' }>): unknown {
  const text = new TextDecoder().decode(job.body);
  if (job.maxDepth !== undefined && jsonDepth(text, job.maxDepth) > job.maxDepth)
    return { refused: 'too_deep' } satisfies CompileBodyResult;
  if (text.trim() === '') return { refused: 'empty' } satisfies CompileBodyResult;
  return compile(text, job.file);
}

async function run(job: ProcessJob): Promise<unknown> {
  if (job.kind === 'profile') return profile(job.input, { sample: job.sample });
  if (job.kind === 'profile-body') return profileBody(job);
  if (job.kind === 'compile-body') return compileBody(job);
  return compile(job.text, job.file);
}

function answer(reply: BackgroundAnswer): void {
  process.send!(reply, undefined, undefined, (error: Error | null) => {
    // The server is gone: nobody waits for this answer or any other.
    if (error) process.exit(0);
  });
}

lowerEveryThread();
// The server closed the channel (it closed, or died): nothing more will come.
process.on('disconnect', () => process.exit(0));
/** Bytes read from the body pipe and not yet given to a job. */
const bodyBytes: Buffer[] = [];
let bodyHeld = 0;
/** A job whose raw body is still arriving on the pipe. */
let arriving: { id: number; job: ProcessJob; bytes: number } | undefined;

/** Starts the arriving job once the pipe has brought all of its body. */
function startWhenArrived(): void {
  if (arriving === undefined || bodyHeld < arriving.bytes) return;
  const { id, job, bytes } = arriving;
  arriving = undefined;
  const all = bodyBytes.length === 1 ? bodyBytes[0] : Buffer.concat(bodyBytes);
  bodyBytes.length = 0;
  bodyHeld = all.length - bytes;
  if (bodyHeld > 0) bodyBytes.push(all.subarray(bytes));
  if (job.kind === 'compile-body' || job.kind === 'profile-body') job.body = all.subarray(0, bytes);
  start(id, job);
}

const bodyPipe = new Socket({ fd: BODY_FD, readable: true, writable: false });
bodyPipe.on('data', (piece: Buffer) => {
  bodyBytes.push(piece);
  bodyHeld += piece.length;
  startWhenArrived();
});
// The server is gone (the pipe closed with it): `disconnect` ends the process.
bodyPipe.on('error', () => {});

/** One job in (a raw body's bytes following on the pipe), its value (or its error) out. */
process.on('message', (message: BackgroundRequest) => {
  const job = message.job as ProcessJob;
  if (message.bodyBytes === undefined) start(message.id, job);
  else {
    arriving = { id: message.id, job, bytes: message.bodyBytes };
    startWhenArrived();
  }
});

/** Runs one job and answers with its value or its error. */
function start(id: number, job: ProcessJob): void {
  run(job).then(
    (value) => answer({ id, value }),
    (error: unknown) =>
      answer({
        id,
        error:
          error instanceof WarmflowError
            ? {
                code: error.code,
                message: error.message,
                hint: error.hint,
                problems: error instanceof ValidationError ? [...error.problems] : undefined,
              }
            : { message: error instanceof Error ? error.message : String(error) },
      }),
  );
}
