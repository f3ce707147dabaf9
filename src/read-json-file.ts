import { readFile } from 'node:fs/promises';
import { WarmflowError, type ErrorCode } from './errors.js';

/**
 * Reads and parses a JSON file a user named on the command line; an unreadable file or bad
 * JSON is a WarmflowError with `code`, saying which file holds `what` and, with `hint`, how
 * to write a good one.
 */
export async function readJsonFile(
  file: string,
  error: { code: ErrorCode; what: string; hint: string },
): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (cause) {
    throw new WarmflowError(
      error.code,
      `cannot read ${error.what} from ${file}: ${(cause as Error).message}`,
      { cause, hint: error.hint },
    );
  }
}
