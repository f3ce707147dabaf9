import path from 'node:path';
import { warmflowHome } from '../../home.js';
import type { Rpr } from '../../predictor/rpr.js';
import type { Rac } from '../rac.js';
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
  | { op: 'down'; flow?: string; template?: string; tenant?: string }
  /**
   * Takes a ready set of the template's pool for one execution. The set stays claimed (and
   * counted by the owner) until `release` on the same connection, or until that connection
   * closes (then it is retired: the run that held it ended without saying how).
   */
  | {
      op: 'claim';
      template: string;
      tenant?: string;
      version?: string;
      /**
       * With no set ready but one warming, wait for it this long at most (capped at
       * {@link MAX_CLAIM_WAIT_MS}); absent or 0: answer at once.
       */
      wait_ms?: number;
    }
  | { op: 'release'; claim_id: string; retire?: boolean };

/** The answer to `claim`: a set (with the pool's token, to connect to its workers) or why none. */
export interface ControlClaim {
  claim: {
    claim_id: string;
    set_id: string;
    template: string;
    tenant: string;
    token: string;
    racs: Rac[];
  } | null;
  /** Without a claim: why (no pool, none ready yet, made for another version of the flow). */
  reason?: 'no_pool' | 'none_ready' | 'stale_version';
  /** Without a claim, when a pool exists: its sets by state. */
  pool?: { ready_sets: number; warming_sets: number; claimed_sets: number };
  /** The owner's process id. */
  pid: number;
  /** With a claim made after waiting for a warming set: how long it waited. */
  waited_ms?: number;
}

/** Longest a `claim` waits for a warming set. */
export const MAX_CLAIM_WAIT_MS = 30_000;

/** A response: `ok` with the operation's result fields, or an error. */
export type ControlResponse =
  ({ ok: true } & Record<string, unknown>) | { ok: false; error: WireError };

/** Path of the control socket of the serve that owns this WARMFLOW_HOME's pools. */
export function controlSocketPath(home = warmflowHome()): string {
  return path.join(home, 'control.sock');
}
