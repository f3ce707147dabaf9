import { readdirSync } from 'node:fs';
import os from 'node:os';
import { ValidationError, WarmflowError } from '../errors.js';
import { profile } from '../profiler/profile.js';
import {
  BACKGROUND_PRIORITY,
  type BackgroundAnswer,
  type BackgroundJob,
  type BackgroundRequest,
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
  job: Extract<BackgroundJob, { kind: 'profile-body' }>,
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
function compileBody(job: Extract<BackgroundJob, { kind: 'compile-body' }>): unknown {
  const text = new TextDecoder().decode(job.body);
  if (job.maxDepth !== undefined && jsonDepth(text, job.maxDepth) > job.maxDepth)
    return { refused: 'too_deep' } satisfies CompileBodyResult;
  if (text.trim() === '') return { refused: 'empty' } satisfies CompileBodyResult;
  return compile(text, job.file);
}

async function run(job: BackgroundJob): Promise<unknown> {
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
/** One job in, its value (or its error) out, in the order received. */
process.on('message', (message: BackgroundRequest) => {
  run(message.job).then(
    (value) => answer({ id: message.id, value }),
    (error: unknown) =>
      answer({
        id: message.id,
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
});
