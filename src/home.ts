import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The folder where warmflow keeps everything between runs (SQLite history, pool
 * state, tenants, per-run files): `WARMFLOW_HOME`, default `~/.warmflow`. Created on
 * first use, readable by its owner only (0700): it holds tenants' inputs and outputs
 * and store URLs with their passwords. A home an older version made 0755 is tightened.
 */
export function warmflowHome(): string {
  const home = process.env.WARMFLOW_HOME ?? path.join(os.homedir(), '.warmflow');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  ownerOnly(home, 0o700);
  return home;
}

/**
 * Makes `file` readable by its owner only (`mode`, default 0600), and a SQLite
 * database's `-wal`/`-shm` companions too (SQLite gives companions it creates later the
 * database's own mode). A file we do not own is left alone (chmod would fail anyway).
 */
export function ownerOnly(file: string, mode = 0o600): void {
  for (const candidate of mode === 0o600 ? [file, `${file}-wal`, `${file}-shm`] : [file]) {
    try {
      if (!existsSync(candidate)) continue;
      const info = statSync(candidate);
      if ((info.mode & 0o777) === mode) continue;
      if (typeof process.getuid === 'function' && info.uid !== process.getuid()) continue;
      chmodSync(candidate, mode);
    } catch {
      // A file that vanished or cannot be changed keeps its mode; the next open retries.
    }
  }
}

/** Path of the embedded SQLite database under {@link warmflowHome}. */
export function homeDatabasePath(): string {
  return path.join(warmflowHome(), 'warmflow.db');
}
