import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { dnsLabel } from '../names.js';
import { cpuQuantity, memoryQuantity } from '../quantity.js';
import { WORKER_SELECTOR, tenantLabels } from './labels.js';
import type { ManifestOptions, TenantQuotas } from './manifest-options.js';

/** Names of the per-tenant objects, fixed so the provider can read and patch them. */
export const TENANT_OBJECT = {
  serviceAccount: 'warmflow-worker',
  quota: 'warmflow-quota',
  limitRange: 'warmflow-limits',
  denyAll: 'warmflow-default-deny',
  dns: 'warmflow-allow-dns',
  orchestrator: 'warmflow-allow-orchestrator',
} as const;

/** The namespace of a tenant: `<prefix><tenant>-<hash>`, a DNS-1123 label. */
export function tenantNamespace(tenant: string, prefix: string): string {
  return `${prefix}${dnsLabel(tenant, 63 - prefix.length)}`;
}

/** Every object one tenant needs, in the order they must be applied (namespace first). */
export type TenantManifest =
  Namespace | ServiceAccount | ResourceQuota | LimitRange | NetworkPolicy;

/**
 * Builds a tenant's locked-down namespace: Pod Security `restricted` enforced (and audited,
 * warned), a quota and limit range from its {@link TenantQuotas}, default-deny network
 * policies with exactly three holes (orchestrator → worker port, DNS, and — per pool, see
 * `buildStoreEgressPolicy` — the flow's data stores), and a service account whose token is
 * never mounted.
 */
export function buildTenantManifests(
  tenant: string,
  quotas: TenantQuotas,
  options: ManifestOptions,
): TenantManifest[] {
  const namespace = tenantNamespace(tenant, options.namespacePrefix);
  const labels = tenantLabels(tenant);
  const meta = (name: string) => ({ name, namespace, labels });
  return [
    new Namespace({
      metadata: {
        name: namespace,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    }),
    new ServiceAccount({
      metadata: meta(TENANT_OBJECT.serviceAccount),
      automountServiceAccountToken: false,
    }),
    new ResourceQuota({
      metadata: meta(TENANT_OBJECT.quota),
      spec: {
        hard: {
          'requests.cpu': cpuQuantity(quotas.cpu_cores),
          'limits.cpu': cpuQuantity(quotas.cpu_cores),
          'requests.memory': memoryQuantity(quotas.memory_gb),
          'limits.memory': memoryQuantity(quotas.memory_gb),
          pods: String(quotas.pods),
          // Extended resources are only quota-able by their request.
          'requests.nvidia.com/gpu': String(quotas.gpus),
        },
      },
    }),
    new LimitRange({
      metadata: meta(TENANT_OBJECT.limitRange),
      spec: {
        limits: [
          {
            type: 'Container',
            // Only containers that say nothing get these; warmflow's own pods always say.
            default: { cpu: '1', memory: '1Gi' },
            defaultRequest: { cpu: '1', memory: '1Gi' },
            max: { cpu: cpuQuantity(quotas.cpu_cores), memory: memoryQuantity(quotas.memory_gb) },
          },
        ],
      },
    }),
    new NetworkPolicy({
      metadata: meta(TENANT_OBJECT.denyAll),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    }),
    new NetworkPolicy({
      metadata: meta(TENANT_OBJECT.dns),
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': options.dns.namespace },
                },
                podSelector: { matchLabels: options.dns.podLabels },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    }),
    new NetworkPolicy({
      metadata: meta(TENANT_OBJECT.orchestrator),
      spec: {
        podSelector: { matchLabels: { ...WORKER_SELECTOR } },
        policyTypes: ['Ingress'],
        // Connections are always opened by the orchestrator; replies ride the same connection.
        ingress: [
          {
            from: [orchestratorPeer(options)],
            ports: [{ protocol: 'TCP', port: options.workerPort }],
          },
        ],
      },
    }),
  ];
}

function orchestratorPeer(options: ManifestOptions): INetworkPolicyPeer {
  const peer = options.orchestrator;
  if ('cidr' in peer) return { ipBlock: { cidr: peer.cidr } };
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
    podSelector: { matchLabels: peer.podLabels },
  };
}
