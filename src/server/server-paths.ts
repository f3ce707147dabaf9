import path from 'node:path';
import { HttpError } from './http-error.js';

/**
 * Resolves a path a request names on the server (a flow file, a data source) and
 * refuses anything outside the configured roots, so one tenant cannot make the
 * server read arbitrary files (another tenant's data, the admin key).
 */
export function resolveServerPath(
  requested: string,
  roots: readonly string[],
  base?: string,
): string {
  const resolved = path.resolve(base ?? roots[0] ?? process.cwd(), requested);
  const inside = roots.some((root) => {
    const relative = path.relative(path.resolve(root), resolved);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  });
  if (!inside) {
    throw new HttpError(
      403,
      'E_PATH_FORBIDDEN',
      `path "${requested}" is outside the folders this server may read`,
      {
        hint: 'start the server with --root <folder> for the folders holding flows and data',
      },
    );
  }
  return resolved;
}
