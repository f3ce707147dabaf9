/** Pure builders of every Kubernetes object the provider applies, and the checks they pass. */
export * from './labels.js';
export * from './manifest-options.js';
export * from './tenant-manifests.js';
export * from './pool-manifests.js';
export * from './worker-command.js';
export * from './worker-pod.js';
export * from './manifest-checks.js';
export * from './field-allow-list.js';
export * from './pod-security.js';
export * from './manifest-set.js';
