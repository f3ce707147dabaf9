import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { ValidationError, WarmflowError } from '../errors.js';
import { compileFlowText } from './flow-compile.js';

// Parsing tenants' flow files is background work: at the lowest CPU priority, the threads
// that answer requests (and every other tenant) go first when the cores are busy. On Linux
// this lowers this thread only; elsewhere it may lower the whole process, so it is not tried.
if (process.platform === 'linux') {
  try {
    os.setPriority(19);
  } catch {
    // a sandbox without the call: the thread keeps the normal priority
  }
}

/** The compile thread: one flow text in, its spec and template (or its error) out. */
parentPort!.on('message', (message: { id: number; text: string; file: string | undefined }) => {
  try {
    const { spec, template } = compileFlowText(message.text, message.file);
    // Plain copies: the spec's positions (non-enumerable) stay here.
    parentPort!.postMessage({ id: message.id, spec: JSON.parse(JSON.stringify(spec)), template });
  } catch (error) {
    parentPort!.postMessage({
      id: message.id,
      error:
        error instanceof WarmflowError
          ? {
              code: error.code,
              message: error.message,
              hint: error.hint,
              problems: error instanceof ValidationError ? error.problems : undefined,
            }
          : { message: error instanceof Error ? error.message : String(error) },
    });
  }
});
