import { WarmflowError } from '../../errors.js';
import { WorkerClient } from '../../worker/client.js';
import { Claim } from '../pool/claim.js';
import { ControlConnection } from './control-client.js';
import { MAX_CLAIM_WAIT_MS, controlSocketPath, type ControlClaim } from './control-protocol.js';

/** A set claimed from the `warmflow serve` owning this home's pools, held over one connection. */
export interface OwnerClaim {
  /** The set, with this process's own authenticated connections to its workers. */
  claim: Claim;
  /** The owner's process id. */
  pid: number;
  /** How long the owner waited for the set to finish warming (absent: it was ready). */
  waitedMs?: number;
  /** Gives the set back to the owner's pool (or retires it); closes the connections. */
  release(options?: { retire?: boolean }): Promise<void>;
}

/** What the owner answered to a claim. */
export type OwnerClaimResult =
  | { owner: false }
  | { owner: true; claimed: OwnerClaim }
  | {
      owner: true;
      claimed: null;
      why: string;
      reason: NotClaimed;
      /** Sets of the pool warming at the owner (`none_ready`): one could be waited for. */
      warming: number;
    };

/** Why the owner handed no set: it has no pool of the template, or one that cannot serve. */
export type NotClaimed = NonNullable<ControlClaim['reason']> | 'unreachable';

/**
 * Claims a ready set of `template` from the `warmflow serve` that owns this WARMFLOW_HOME's
 * pools (`warmflow pool up`), for an execution in this process. `owner: false` when no serve
 * runs; without a set, `why` says what the owner's pool was doing. With `waitMs`, a set still
 * warming there is waited for that long at most. The set stays claimed and counted by the
 * owner until `release`; if this process ends first, the owner retires it.
 */
export async function claimFromOwner(input: {
  template: string;
  tenant: string;
  version?: string;
  socketPath?: string;
  waitMs?: number;
}): Promise<OwnerClaimResult> {
  let connection: ControlConnection;
  try {
    connection = await ControlConnection.open(input.socketPath ?? controlSocketPath());
  } catch (error) {
    if ((error as WarmflowError).code === 'E_NO_SERVE') return { owner: false };
    throw error;
  }
  let answer: ControlClaim;
  try {
    answer = (await connection.request(
      {
        op: 'claim',
        template: input.template,
        tenant: input.tenant,
        ...(input.version !== undefined ? { version: input.version } : {}),
        ...(input.waitMs !== undefined && input.waitMs > 0 ? { wait_ms: input.waitMs } : {}),
      },
      30_000 + Math.min(MAX_CLAIM_WAIT_MS, Math.max(0, input.waitMs ?? 0)),
    )) as unknown as ControlClaim;
  } catch (error) {
    connection.close();
    throw error;
  }
  const held = answer.claim;
  if (held === null) {
    connection.close();
    return {
      owner: true,
      claimed: null,
      why: notClaimed(answer, input.template),
      reason: answer.reason ?? 'no_pool',
      warming: answer.pool?.warming_sets ?? 0,
    };
  }
  const clients: WorkerClient[] = [];
  const release = async (options: { retire?: boolean } = {}) => {
    for (const client of clients) client.close();
    try {
      await connection.request(
        { op: 'release', claim_id: held.claim_id, retire: options.retire === true },
        30_000,
      );
    } finally {
      connection.close();
    }
  };
  try {
    for (const rac of held.racs)
      clients.push(await WorkerClient.connect(rac.network_address, held.token));
  } catch (error) {
    // A worker of the set is gone: the owner retires the set; the run cannot use it.
    await release({ retire: true }).catch(() => {});
    return {
      owner: true,
      claimed: null,
      why: `the warm set claimed from warmflow serve (pid ${answer.pid}) could not be reached (${(error as Error).message}); the owner retired it`,
      reason: 'unreachable',
      warming: 0,
    };
  }
  const claim = new Claim({
    claim_id: held.claim_id,
    tenant: held.tenant,
    template: held.template,
    set_id: held.set_id,
    token: held.token,
    resources: held.racs.map((rac, i) => ({ rac, client: clients[i] })),
  });
  return {
    owner: true,
    claimed: {
      claim,
      pid: answer.pid,
      release,
      ...(answer.waited_ms !== undefined ? { waitedMs: answer.waited_ms } : {}),
    },
  };
}

function notClaimed(answer: ControlClaim, template: string): string {
  const owner = `warmflow serve (pid ${answer.pid})`;
  switch (answer.reason) {
    case 'stale_version':
      return `${owner} had a warm pool of "${template}" made for another version of the flow; it retired it`;
    case 'none_ready': {
      const pool = answer.pool!;
      return `${owner} has a warm pool of "${template}" but no ready set (${pool.warming_sets} warming, ${pool.claimed_sets} claimed)`;
    }
    default:
      return `${owner} has no warm pool of "${template}"`;
  }
}
