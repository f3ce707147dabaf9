import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The `function_fingerprint` history keys observations by: sha256 (hex) of the
 * function's module source, so the same code used in another template is recognised.
 * Null when there is no module or it cannot be read. The execution engine records
 * observations with this same function so the two sides match.
 */
export async function functionFingerprint(modulePath: string | null): Promise<string | null> {
  if (modulePath === null) return null;
  try {
    return createHash('sha256')
      .update(await readFile(modulePath))
      .digest('hex');
  } catch {
    return null;
  }
}
