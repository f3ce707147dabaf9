import { existsSync, unlinkSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { WarmflowError } from '../../errors.js';
import { homeDatabasePath } from '../../home.js';
import { parseRprs } from '../../predictor/rpr-validation.js';
import { loadFlow } from '../../template/load-flow.js';
import { LocalProvider, type LocalProviderConfig } from '../local/local-provider.js';
import type { Provider } from '../provider.js';
import { PoolStateStore } from '../pool/pool-state-store.js';
import { PreProvisioningService } from '../pool/pre-provisioning-service.js';
import type { Claim } from '../pool/claim.js';
import { listenControl, type ControlPeer } from './control-server.js';
import {
  MAX_CLAIM_WAIT_MS,
  controlSocketPath,
  type ControlClaim,
  type ControlRequest,
} from './control-protocol.js';

/** The running owner of the local pools (what `warmflow serve` holds). */
export interface PoolOwner {
  service: PreProvisioningService;
  provider: Provider;
  socketPath: string;
  /** What the start-up clean-up did. */
  restored: Awaited<ReturnType<PreProvisioningService['restore']>>;
  close(): Promise<void>;
}

/**
 * Starts the long-lived owner of this WARMFLOW_HOME's pools: a local provider, the
 * Pre-Provisioning Service with its state in the home SQLite database, the clean-up of workers a
 * previous owner left (and the rebuild of its pools), and the control socket `warmflow pool`
 * talks to.
 */
export async function startPoolOwner(
  options: {
    provider?: LocalProviderConfig;
    /** Another provider (e.g. Kubernetes) instead of the local one; `provider` is then ignored. */
    providerInstance?: Provider;
    socketPath?: string;
  } = {},
): Promise<PoolOwner> {
  const socketPath = options.socketPath ?? controlSocketPath();
  const provider = options.providerInstance ?? new LocalProvider(options.provider);
  const store = new PoolStateStore(homeDatabasePath());
  const service = new PreProvisioningService({ provider, store });
  let server: net.Server | undefined;
  const claims = new Map<string, Claim>();
  try {
    server = await listenControl(socketPath, (request, peer) =>
      handle(service, claims, request, peer),
    );
  } catch (error) {
    await service.close();
    await provider.close();
    store.close();
    throw error;
  }
  const restored = await service.restore();
  return {
    service,
    provider,
    socketPath,
    restored,
    close: async () => {
      server.close();
      if (existsSync(socketPath)) unlinkSync(socketPath);
      await service.close();
      await provider.close();
      store.close();
    },
  };
}

async function templateOf(
  flow: string | undefined,
  template: string | undefined,
): Promise<string | undefined> {
  if (flow === undefined) return template;
  return (await loadFlow(path.resolve(flow))).template.name;
}

/**
 * `claim`: a ready set for an execution in another process (`warmflow run`). With `wait_ms`
 * and no set ready but one warming, the owner waits for that set (as an execution in its own
 * process does). The owner keeps the set claimed, and counted, until `release`; a connection
 * that closes first (the run was killed) gives the set back retired, since its workers' state
 * is unknown — unless it closed while the owner was still waiting: that set was never handed
 * out, and goes back ready.
 */
async function claimFor(
  service: PreProvisioningService,
  claims: Map<string, Claim>,
  request: Extract<ControlRequest, { op: 'claim' }>,
  peer: ControlPeer,
): Promise<ControlClaim> {
  const tenant = request.tenant ?? 'default';
  const before = service.status({ tenant, template: request.template })[0];
  let claim = service.claim(request.template, tenant, request.version);
  let waitedMs: number | undefined;
  const waitMs = Math.min(MAX_CLAIM_WAIT_MS, Math.max(0, request.wait_ms ?? 0));
  if (claim === null && waitMs > 0 && before !== undefined && before.given_up === undefined) {
    const from = performance.now();
    claim = await service.claimWarming(request.template, tenant, request.version, waitMs);
    if (claim !== null) {
      waitedMs = Math.round(performance.now() - from);
      if (peer.closed) {
        await service.release(claim).catch(() => {});
        claim = null;
      }
    }
  }
  if (claim === null) {
    if (before === undefined || before.given_up !== undefined)
      return { claim: null, reason: 'no_pool', pid: process.pid };
    const after = service.status({ tenant, template: request.template })[0];
    if (after === undefined) return { claim: null, reason: 'stale_version', pid: process.pid };
    const { ready_sets, warming_sets, claimed_sets } = after;
    return {
      claim: null,
      reason: 'none_ready',
      pool: { ready_sets, warming_sets, claimed_sets },
      pid: process.pid,
    };
  }
  const held = claim;
  claims.set(held.claim_id, held);
  peer.onClose(() => {
    if (!claims.delete(held.claim_id)) return;
    void service.release(held, { retire: true }).catch(() => {});
  });
  return {
    claim: {
      claim_id: held.claim_id,
      set_id: held.set_id,
      template: held.template,
      tenant: held.tenant,
      token: held.token,
      racs: held.racs,
    },
    pid: process.pid,
    ...(waitedMs !== undefined ? { waited_ms: waitedMs } : {}),
  };
}

async function handle(
  service: PreProvisioningService,
  claims: Map<string, Claim>,
  request: ControlRequest,
  peer: ControlPeer,
): Promise<Record<string, unknown>> {
  switch (request.op) {
    case 'ping':
      return { pid: process.pid };
    case 'up': {
      const flow = await loadFlow(path.resolve(request.flow));
      const input: Parameters<PreProvisioningService['preProvision']>[0] = {
        flow,
        rprs: parseRprs(request.rprs, 'the control request', flow.template),
        tenant: request.tenant ?? 'default',
        sets: request.sets ?? 1,
      };
      if (request.groups !== undefined) input.groups = request.groups;
      if (request.keep_alive_ms !== undefined) input.keepAliveMs = request.keep_alive_ms;
      const racs = await service.preProvision(input);
      return { template: flow.template.name, racs };
    }
    case 'status':
      return {
        pools: service.status({
          tenant: request.tenant ?? 'default',
          ...(request.template === undefined ? {} : { template: request.template }),
        }),
      };
    case 'down': {
      const template = await templateOf(request.flow, request.template);
      const released = await service.down({
        tenant: request.tenant ?? 'default',
        ...(template === undefined ? {} : { template }),
      });
      return { released };
    }
    case 'claim':
      return { ...(await claimFor(service, claims, request, peer)) };
    case 'release': {
      const claim = claims.get(request.claim_id);
      if (claim === undefined)
        throw new WarmflowError(
          'E_NO_CLAIM',
          `no claim ${request.claim_id} is held (released already, or taken by another owner)`,
        );
      claims.delete(request.claim_id);
      await service.release(claim, { retire: request.retire === true });
      return { released: request.claim_id };
    }
    default:
      throw new WarmflowError(
        'E_CONTROL',
        `unknown control operation ${(request as { op: string }).op}`,
      );
  }
}
