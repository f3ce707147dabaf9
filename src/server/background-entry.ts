import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { ValidationError, WarmflowError } from '../errors.js';
import { profile } from '../profiler/profile.js';
import type { BackgroundAnswer, BackgroundJob } from './background-thread.js';
import { compileFlowText } from './flow-compile.js';

// Tenants' heavy work is background work: at the lowest CPU priority, the threads that answer
// requests (and every other tenant) go first when the cores are busy. On Linux this lowers this
// thread only; elsewhere it may lower the whole process, so it is not tried.
if (process.platform === 'linux') {
  try {
    os.setPriority(19);
  } catch {
    // a sandbox without the call: the thread keeps the normal priority
  }
}

async function run(job: BackgroundJob): Promise<unknown> {
  if (job.kind === 'profile') return profile(job.input, { sample: job.sample });
  const { spec, template } = compileFlowText(job.text, job.file);
  // Plain copies: the spec's positions (non-enumerable) stay here.
  return { spec: JSON.parse(JSON.stringify(spec)) as unknown, template };
}

/** The thread: one job in, its value (or its error) out, in the order received. */
parentPort!.on('message', (message: { id: number; job: BackgroundJob }) => {
  const answer = (reply: BackgroundAnswer) => parentPort!.postMessage(reply);
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
