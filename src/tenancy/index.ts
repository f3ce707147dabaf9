/** Tenants, API keys, the admin key, quotas and their enforcement. */
export { TenancyStore } from './tenancy-store.js';
export type { Tenant, ApiKeyInfo, Principal, TenancyStoreOptions } from './tenancy-store.js';
export {
  generateApiKey,
  parseKeyId,
  hashApiKey,
  apiKeyMatches,
  API_KEY_PREFIX,
} from './api-key.js';
export type { GeneratedApiKey } from './api-key.js';
export { resolveAdminKey, ADMIN_KEY_FILE } from './admin-key.js';
export type { AdminKey } from './admin-key.js';
export {
  DEFAULT_QUOTAS,
  COSTLY_REQUEST_TOKENS,
  QUOTA_NAMES,
  QuotaExceededError,
  withDefaultQuotas,
  enforceBodySize,
  enforceResources,
  enforceConcurrency,
} from './quotas.js';
export type { Quotas, QuotaName, ResourceAmount } from './quotas.js';
export { RateLimiter, ExecutionSlots, InFlightSlots } from './rate-limiter.js';
