import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toFailure, type FunctionFailure } from '../../errors.js';

/** warmflow's own files (src/ or dist/src/): frames there are not the user's function. */
const OWN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Longest stack kept per failure: enough for the user's frames, bounded per dead letter. */
const MAX_STACK = 4096;

const FRAME = /\(?(?:file:\/\/)?(\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?\s*$/;

/**
 * Where in the user's code an error was thrown: `file:line:column` of the first stack
 * frame outside Node's internals, `node_modules` and warmflow itself.
 */
export function failureLocation(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const match = FRAME.exec(line.trim());
    if (match === null) continue;
    const file = match[1];
    if (file.startsWith(OWN + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`))
      continue;
    return `${file}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

/** A thrown value as a dead letter carries it: type, message, stack (bounded) and the user's `file:line:column`. */
export function deadLetterFailure(thrown: unknown): FunctionFailure & { location?: string } {
  const failure: FunctionFailure & { location?: string } = toFailure(thrown);
  const location = failureLocation(failure.stack);
  if (failure.stack !== undefined && failure.stack.length > MAX_STACK)
    failure.stack = failure.stack.slice(0, MAX_STACK) + '\n    …';
  if (location !== undefined) failure.location = location;
  return failure;
}
