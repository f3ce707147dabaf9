import { dnsLabel, labelValue } from '../names.js';

/** Label and annotation keys the provider sets and selects on. */
export const LABEL = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  tenant: 'warmflow.dev/tenant',
  template: 'warmflow.dev/template',
  node: 'warmflow.dev/node',
  pool: 'warmflow.dev/pool',
  resourceId: 'warmflow.dev/resource-id',
} as const;

/**
 * Annotations keep the original names: label values must be sanitised, but adopting a pod
 * after a restart must give back the exact tenant, template, node ids and RPR.
 */
export const ANNOTATION = {
  tenant: 'warmflow.dev/tenant',
  template: 'warmflow.dev/template',
  nodeId: 'warmflow.dev/node-id',
  nodeIds: 'warmflow.dev/node-ids',
  rpr: 'warmflow.dev/rpr',
  storageType: 'warmflow.dev/storage-type',
} as const;

/** Labels every object warmflow creates carries (so `kubectl get all -l` finds them). */
export const MANAGED_LABELS: Readonly<Record<string, string>> = Object.freeze({
  [LABEL.name]: 'warmflow',
  [LABEL.managedBy]: 'warmflow',
});

/** The selector of every worker pod warmflow manages (in any namespace). */
export const WORKER_SELECTOR: Readonly<Record<string, string>> = Object.freeze({
  ...MANAGED_LABELS,
  [LABEL.component]: 'worker',
});

/** The pool id of a template inside its tenant's namespace: names the Secret and egress policy. */
export function poolId(template: string): string {
  return dnsLabel(template, 40);
}

/** Labels of everything that belongs to one tenant. */
export function tenantLabels(tenant: string): Record<string, string> {
  return { ...MANAGED_LABELS, [LABEL.tenant]: labelValue(tenant) };
}

/** Labels of everything that belongs to one pool (tenant + template). */
export function poolLabels(tenant: string, template: string): Record<string, string> {
  return {
    ...tenantLabels(tenant),
    [LABEL.template]: labelValue(template),
    [LABEL.pool]: poolId(template),
  };
}

/** Renders a label map as a `labelSelector` query string (`a=b,c=d`). */
export function selectorString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Labels selecting what belongs to a tenant and/or a template (for list and teardown). */
export function labelsFor(filter: {
  tenant?: string | undefined;
  template?: string | undefined;
}): Record<string, string> {
  const labels: Record<string, string> = { ...MANAGED_LABELS };
  if (filter.tenant !== undefined) labels[LABEL.tenant] = labelValue(filter.tenant);
  if (filter.template !== undefined) labels[LABEL.template] = labelValue(filter.template);
  return labels;
}
