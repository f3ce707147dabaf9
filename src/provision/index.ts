/** Provisioning: the provider contract, the local provider, warm pools and the Pre-Provisioning Service. */
export type * from './provider.js';
export type * from './rac.js';
export { LocalProvider } from './local/local-provider.js';
export type { LocalProviderConfig } from './local/local-provider.js';
export {
  detectMachineCapacity,
  detectGpus,
  roundCores,
  CORE_STEP,
} from './local/machine-capacity.js';
export type { MachineCapacity } from './local/machine-capacity.js';
export { checkCapacity } from './local/capacity-check.js';
export type { Allocation } from './local/capacity-check.js';
export { PreProvisioningService } from './pool/pre-provisioning-service.js';
export type { PreProvisionInput, PreProvisioningConfig } from './pool/pre-provisioning-service.js';
export { WarmPool } from './pool/warm-pool.js';
export type { WarmPoolConfig, PoolStatus, SetStatus } from './pool/warm-pool.js';
export { Claim } from './pool/claim.js';
export type { ClaimedResource } from './pool/claim.js';
export { PoolStateStore } from './pool/pool-state-store.js';
export type { PoolDefinition, PersistedResource } from './pool/pool-state-store.js';
export { planResources, mergeRprs } from './pool/resource-plan.js';
export type { PoolFlow, ResourcePlan } from './pool/resource-plan.js';
export { killStaleWorkers } from './pool/stale-workers.js';
