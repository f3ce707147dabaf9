import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The folder where warmflow keeps everything between runs (SQLite history, pool
 * state, tenants): `WARMFLOW_HOME`, default `~/.warmflow`. Created on first use.
 */
export function warmflowHome(): string {
  const home = process.env.WARMFLOW_HOME ?? path.join(os.homedir(), '.warmflow');
  mkdirSync(home, { recursive: true });
  return home;
}

/** Path of the embedded SQLite database under {@link warmflowHome}. */
export function homeDatabasePath(): string {
  return path.join(warmflowHome(), 'warmflow.db');
}
