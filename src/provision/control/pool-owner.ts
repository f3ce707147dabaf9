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
import { listenControl } from './control-server.js';
import { controlSocketPath, type ControlRequest } from './control-protocol.js';

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
  try {
    server = await listenControl(socketPath, (request) => handle(service, request));
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

async function handle(
  service: PreProvisioningService,
  request: ControlRequest,
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
    default:
      throw new WarmflowError(
        'E_CONTROL',
        `unknown control operation ${(request as { op: string }).op}`,
      );
  }
}
