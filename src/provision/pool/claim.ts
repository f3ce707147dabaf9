import { WarmflowError } from '../../errors.js';
import type { WorkerClient } from '../../worker/client.js';
import type { Rac } from '../rac.js';

/** One claimed resource: its RAC and an already authenticated connection to its worker. */
export interface ClaimedResource {
  rac: Rac;
  client: WorkerClient;
}

/**
 * A warm set handed to exactly one caller by `claim`. It holds the resources until `release`.
 * The connections are open and authenticated already, so the first request costs one round trip.
 *
 * ```ts
 * const claim = service.claim('clickstream', 'default');
 * if (claim) {
 *   await claim.clientFor('parse').request({ type: 'deploy', ... });
 *   await service.release(claim);
 * }
 * ```
 */
export class Claim {
  readonly claim_id: string;
  readonly tenant: string;
  readonly template: string;
  readonly set_id: string;
  /** The pool's token, to open further connections to the claimed workers. */
  readonly token: string;
  readonly claimed_at: string;
  readonly resources: readonly ClaimedResource[];

  constructor(init: {
    claim_id: string;
    tenant: string;
    template: string;
    set_id: string;
    token: string;
    resources: ClaimedResource[];
  }) {
    this.claim_id = init.claim_id;
    this.tenant = init.tenant;
    this.template = init.template;
    this.set_id = init.set_id;
    this.token = init.token;
    this.resources = Object.freeze([...init.resources]);
    this.claimed_at = new Date().toISOString();
  }

  /** The RACs of the claimed set (status "claimed"). */
  get racs(): Rac[] {
    return this.resources.map((resource) => resource.rac);
  }

  /** The resource serving template node `nodeId`. */
  resourceFor(nodeId: string): ClaimedResource {
    const found = this.resources.find((resource) => resource.rac.node_ids.includes(nodeId));
    if (found === undefined) {
      throw new WarmflowError(
        'E_NO_RESOURCE',
        `claim ${this.claim_id} holds no resource for node "${nodeId}"`,
      );
    }
    return found;
  }

  /** The connection to the worker serving `nodeId`. */
  clientFor(nodeId: string): WorkerClient {
    return this.resourceFor(nodeId).client;
  }

  toJSON(): object {
    return {
      claim_id: this.claim_id,
      tenant: this.tenant,
      template: this.template,
      set_id: this.set_id,
      claimed_at: this.claimed_at,
      racs: this.racs,
    };
  }
}
