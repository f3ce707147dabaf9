import path from 'node:path';
import { warmflowHome } from '../../home.js';
import type { Rpr } from '../../predictor/rpr.js';
import type { WireError } from '../../worker/protocol.js';

/**
 * The local control socket between `warmflow pool ...` and the `warmflow serve` that owns the
 * pools: one JSON request per line, one JSON response per line, over a Unix socket in
 * WARMFLOW_HOME (mode 0600: only the owning user can talk to it).
 */
export type ControlRequest =
  | { op: 'ping' }
  | {
      op: 'up';
      flow: string;
      rprs: Rpr[];
      sets?: number;
      keep_alive_ms?: number;
      groups?: string[][];
      tenant?: string;
    }
  | { op: 'status'; tenant?: string; template?: string }
  | { op: 'down'; flow?: string; template?: string; tenant?: string };

/** A response: `ok` with the operation's result fields, or an error. */
export type ControlResponse =
  ({ ok: true } & Record<string, unknown>) | { ok: false; error: WireError };

/** Path of the control socket of the serve that owns this WARMFLOW_HOME's pools. */
export function controlSocketPath(home = warmflowHome()): string {
  return path.join(home, 'control.sock');
}
