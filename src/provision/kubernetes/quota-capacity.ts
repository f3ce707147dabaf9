import { WarmflowError } from '../../errors.js';
import type { Capacity, ProvisionRequest } from '../provider.js';
import type { KubeApi } from './kube-api.js';
import { isStatus, toWarmflowError } from './kubernetes-errors.js';
import { TENANT_OBJECT, type TenantQuotas } from './manifests/index.js';
import { bytesToGib, parseQuantity } from './quantity.js';

interface QuotaLike {
  spec?: { hard?: Record<string, unknown> };
  status?: { hard?: Record<string, unknown>; used?: Record<string, unknown> };
}

/**
 * A tenant's capacity as its namespace's ResourceQuota states it: `hard` is the total,
 * `status.used` (kept by the quota controller) what is allocated. Before the namespace exists
 * the tenant has the quota it will get and nothing allocated.
 */
export async function readCapacity(
  api: KubeApi,
  namespace: string,
  quotas: TenantQuotas,
): Promise<Capacity> {
  let quota: QuotaLike;
  try {
    quota = (await api.objects.read({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: TENANT_OBJECT.quota, namespace },
    })) as QuotaLike;
  } catch (error) {
    if (isStatus(error, 404)) {
      return {
        cpu_cores: quotas.cpu_cores,
        memory_gb: quotas.memory_gb,
        gpus: quotas.gpus,
        allocated: { cpu_cores: 0, memory_gb: 0, gpus: 0 },
      };
    }
    throw toWarmflowError(error, `reading quota ${TENANT_OBJECT.quota} in ${namespace}`);
  }
  const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
  const used = quota.status?.used ?? {};
  const amount = (map: Record<string, unknown>, ...keys: string[]) => {
    for (const key of keys) {
      const value = map[key];
      if (typeof value === 'string' || typeof value === 'number') return parseQuantity(value);
    }
    return undefined;
  };
  return {
    cpu_cores: amount(hard, 'limits.cpu', 'requests.cpu') ?? quotas.cpu_cores,
    memory_gb: bytesToGib(
      amount(hard, 'limits.memory', 'requests.memory') ?? quotas.memory_gb * 2 ** 30,
    ),
    gpus: amount(hard, 'requests.nvidia.com/gpu') ?? quotas.gpus,
    allocated: {
      cpu_cores: amount(used, 'limits.cpu', 'requests.cpu') ?? 0,
      memory_gb: bytesToGib(amount(used, 'limits.memory', 'requests.memory') ?? 0),
      gpus: amount(used, 'requests.nvidia.com/gpu') ?? 0,
    },
  };
}

/**
 * Refuses, before anything is created, a request the tenant's quota has no room for, naming
 * the quota and every amount that is short.
 */
export function assertQuotaRoom(
  capacity: Capacity,
  request: ProvisionRequest,
  namespace: string,
): void {
  const free = (key: 'cpu_cores' | 'memory_gb' | 'gpus') => capacity[key] - capacity.allocated[key];
  const short: string[] = [];
  if (request.rpr.cpu_cores > free('cpu_cores') + 1e-9)
    short.push(`cpu_cores: asks ${request.rpr.cpu_cores}, ${free('cpu_cores')} free`);
  if (request.rpr.memory_gb > free('memory_gb') + 1e-9)
    short.push(`memory_gb: asks ${request.rpr.memory_gb}, ${free('memory_gb')} free`);
  if (request.rpr.gpu_enabled && free('gpus') < 1) short.push(`gpus: asks 1, ${free('gpus')} free`);
  if (short.length === 0) return;
  throw new WarmflowError(
    'E_QUOTA',
    `tenant "${request.tenant}" has no room for node "${request.rpr.node_id}" in quota "${TENANT_OBJECT.quota}" (namespace ${namespace}): ${short.join('; ')}`,
    {
      hint: "raise the tenant's quota, lower the RPR, or release warm resources with `warmflow pool down`",
    },
  );
}
