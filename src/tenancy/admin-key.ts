import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { warmflowHome } from '../home.js';
import { WarmflowError } from '../errors.js';

/** Where the admin key came from, so `serve` can tell the operator where to find it. */
export interface AdminKey {
  key: string;
  source: 'env' | 'file' | 'generated';
  /** The file holding it (source `file` or `generated`). */
  file?: string;
}

/** Name of the admin key file under WARMFLOW_HOME. */
export const ADMIN_KEY_FILE = 'admin.key';

/**
 * The admin key: `WARMFLOW_ADMIN_KEY` if set; otherwise the one in
 * `$WARMFLOW_HOME/admin.key`; otherwise a new random one written there with mode
 * 0600 (only the owner may read it) on first start.
 */
export function resolveAdminKey(
  options: { env?: NodeJS.ProcessEnv; home?: string } = {},
): AdminKey {
  const env = options.env ?? process.env;
  const fromEnv = env.WARMFLOW_ADMIN_KEY?.trim();
  if (fromEnv) {
    if (fromEnv.length < 16) {
      throw new WarmflowError(
        'E_INVALID_ADMIN_KEY',
        'WARMFLOW_ADMIN_KEY is shorter than 16 characters',
        {
          hint: 'use a long random value, e.g. `openssl rand -hex 32`',
        },
      );
    }
    return { key: fromEnv, source: 'env' };
  }
  const file = path.join(options.home ?? warmflowHome(), ADMIN_KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, source: 'file', file };
  }
  const key = `wfadmin_${randomBytes(32).toString('base64url')}`;
  // `flag: 'w'` with `mode` only applies the mode on creation; chmod covers a rewritten short file.
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key, source: 'generated', file };
}
