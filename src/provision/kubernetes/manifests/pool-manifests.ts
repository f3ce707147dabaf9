import { BlockList, isIP } from 'node:net';
import { Secret } from 'kubernetes-models/v1/Secret';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { StoreSpec } from '../../../template/types.js';
import type { WarmSpec } from '../../provider.js';
import { shortHash } from '../names.js';
import { LABEL, WORKER_SELECTOR, poolId, poolLabels } from './labels.js';
import { tenantNamespace } from './tenant-manifests.js';
import { resolveManifestOptions, type ManifestOptions } from './manifest-options.js';
import { WarmflowError } from '../../../errors.js';

/** Key of the worker token inside the pool Secret. */
export const TOKEN_KEY = 'token';

const DEFAULT_PORTS: Record<string, number> = {
  redis: 6379,
  rediss: 6379,
  postgres: 5432,
  postgresql: 5432,
};

/** Name of a pool's Secret (token and WarmSpecs). */
export function poolSecretName(template: string): string {
  return `wf-pool-${poolId(template)}`;
}

/**
 * Name of the egress policy of one store of a pool. One policy per store (NetworkPolicies add
 * up), so provisioning a node that names one store never narrows what other nodes of the
 * same pool were allowed; the hash covers the URL, so a changed URL is a new policy.
 */
export function storeEgressPolicyName(template: string, store: string, url: string): string {
  return `wf-st-${poolId(template)}-${shortHash(`${store}\n${url}`, 8)}`;
}

/**
 * Key of one WarmSpec inside the pool Secret, content-addressed: the same spec always lands
 * on the same key, so merging keys into the Secret never disturbs a running pod's entry.
 */
export function warmKey(warm: WarmSpec): string {
  return `warm-${shortHash(JSON.stringify(warm), 12)}`;
}

/**
 * The pool's Secret: its per-tenant worker token and the WarmSpecs of its pods. WarmSpecs
 * live here rather than in the pod spec because their store URLs may carry passwords, and
 * anyone who can read pods must not read those.
 */
export function buildPoolSecret(
  tenant: string,
  template: string,
  token: string,
  warms: readonly WarmSpec[],
  options: ManifestOptions,
): Secret {
  const stringData: Record<string, string> = { [TOKEN_KEY]: token };
  for (const warm of warms) stringData[warmKey(warm)] = JSON.stringify(warm);
  return new Secret({
    metadata: {
      name: poolSecretName(template),
      namespace: tenantNamespace(tenant, options.namespacePrefix),
      labels: poolLabels(tenant, template),
    },
    type: 'Opaque',
    // stringData keeps the manifest readable and lets the API server do the base64.
    stringData,
  });
}

/** Where one data store is reached, as a NetworkPolicy can express it. */
export interface StoreEndpoint {
  store: string;
  url: string;
  port: number;
  /** How the destination is matched: an IP block or a Service's namespace, never "anywhere". */
  match: { ipBlock: string } | { namespace: string };
}

/** Namespaces a tenant's workers never reach, whatever a flow's store URL says. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'default']);

/** The first of `cidrs` (IPs or CIDRs) that holds `ip`, if any. */
function deniedRange(ip: string, cidrs: readonly string[]): string | undefined {
  const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const version = isIP(address);
    if (version === 0) continue;
    const list = new BlockList();
    const prefix = bits === undefined ? (version === 4 ? 32 : 128) : Number(bits);
    list.addSubnet(address, prefix, version === 4 ? 'ipv4' : 'ipv6');
    if (list.check(ip, family)) return cidr;
  }
  return undefined;
}

/**
 * Why a store destination may not get egress, or undefined when it may. Link-local
 * addresses are cloud metadata endpoints (169.254.169.254 hands out node credentials),
 * loopback and unspecified addresses are the pod or node itself, and the system, default
 * (the API server's Service) and warmflow namespaces (the orchestrator, other tenants) are
 * not data stores.
 */
export function forbiddenStoreDestination(
  match: StoreEndpoint['match'],
  options: Pick<ManifestOptions, 'namespacePrefix' | 'orchestrator' | 'dns'> &
    Partial<Pick<ManifestOptions, 'deniedCidrs'>>,
): string | undefined {
  if ('ipBlock' in match) {
    const ip = match.ipBlock.replace(/\/\d+$/, '').toLowerCase();
    const denied = deniedRange(ip, options.deniedCidrs ?? []);
    if (denied !== undefined)
      return `inside ${denied}, which this cluster denies (the API server or an admin's range)`;
    if (isIP(ip) === 4) {
      const [a, b] = ip.split('.').map(Number);
      if (a === 169 && b === 254) return 'a link-local address (cloud metadata lives there)';
      if (a === 127 || a === 0) return 'a loopback or unspecified address';
      if (a >= 224) return 'a multicast or reserved address';
    } else {
      if (/^fe[89ab]/.test(ip)) return 'a link-local address (fe80::/10)';
      if (ip === '::1' || ip === '::') return 'a loopback or unspecified address';
      if (ip.startsWith('::ffff:')) return 'an IPv4-mapped address (name the IPv4 address)';
      if (/^ff/.test(ip)) return 'a multicast address';
    }
    return undefined;
  }
  const ns = match.namespace;
  if (SYSTEM_NAMESPACES.has(ns) || ns === options.dns.namespace)
    return `the system namespace "${ns}"`;
  if (ns.startsWith(options.namespacePrefix))
    return `a warmflow namespace "${ns}" (the orchestrator's or another tenant's)`;
  if ('namespace' in options.orchestrator && ns === options.orchestrator.namespace)
    return `the orchestrator's namespace "${ns}"`;
  return undefined;
}

/**
 * Reads host and port from the URLs of the flow's network stores (redis, postgres). An IP
 * becomes an ipBlock; a `svc.namespace.svc[.cluster.local]` name selects that namespace.
 * Any other host name is refused (`E_STORE_EGRESS`): NetworkPolicy cannot match DNS names,
 * and allowing the port to any destination would open every host on the internet and in
 * the cluster. Destinations {@link forbiddenStoreDestination} names are refused too.
 */
export function storeEndpoints(
  stores: Record<string, StoreSpec>,
  options: Pick<ManifestOptions, 'namespacePrefix' | 'orchestrator' | 'dns'> &
    Partial<Pick<ManifestOptions, 'deniedCidrs'>> = resolveManifestOptions(),
): StoreEndpoint[] {
  const endpoints: StoreEndpoint[] = [];
  for (const [store, spec] of Object.entries(stores)) {
    if (spec.url === undefined || (spec.kind !== 'redis' && spec.kind !== 'postgres')) continue;
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new WarmflowError(
        'E_STORE_EGRESS',
        `store "${store}": its url is not a URL, so no NetworkPolicy can name its destination`,
        { hint: 'redis://name.namespace.svc:6379 or postgres://user@10.0.0.5/db' },
      );
    }
    const scheme = url.protocol.replace(/:$/, '');
    const port =
      url.port === ''
        ? (DEFAULT_PORTS[scheme] ?? (spec.kind === 'redis' ? 6379 : 5432))
        : Number(url.port);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const ipVersion = isIP(host);
    const service = /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?\.?$/.exec(host);
    if (ipVersion === 0 && service === null) {
      throw new WarmflowError(
        'E_STORE_EGRESS',
        `store "${store}": host "${host}" is neither an IP address nor a cluster Service name, so no NetworkPolicy can limit egress to it`,
        {
          hint: 'name the store by its Service (name.namespace.svc) or its IP address; a host outside the cluster needs a Service of type ExternalName with an IP, or an IP',
        },
      );
    }
    const match: StoreEndpoint['match'] =
      ipVersion !== 0
        ? { ipBlock: `${host}/${ipVersion === 4 ? 32 : 128}` }
        : { namespace: service![1] };
    const why = forbiddenStoreDestination(match, options);
    if (why !== undefined) {
      throw new WarmflowError(
        'E_STORE_EGRESS',
        `store "${store}": "${host}" is ${why}; workers get no egress there`,
        { hint: 'point the store at a data store Service in its own namespace, or at its IP' },
      );
    }
    endpoints.push({ store, url: spec.url, port, match });
  }
  return endpoints;
}

/**
 * The pool's holes for data: one egress policy per network store its flow names, from the
 * pool's workers to that store's host and port. No store, no policy: default deny stands.
 */
export function buildStoreEgressPolicies(
  tenant: string,
  template: string,
  stores: Record<string, StoreSpec>,
  options: ManifestOptions,
): NetworkPolicy[] {
  const labels = poolLabels(tenant, template);
  return storeEndpoints(stores, options).map((endpoint) => {
    const ports = [{ protocol: 'TCP' as const, port: endpoint.port }];
    const rule: INetworkPolicyEgressRule =
      'ipBlock' in endpoint.match
        ? { to: [{ ipBlock: { cidr: endpoint.match.ipBlock } }], ports }
        : {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': endpoint.match.namespace },
                },
              },
            ],
            ports,
          };
    return new NetworkPolicy({
      metadata: {
        name: storeEgressPolicyName(template, endpoint.store, endpoint.url),
        namespace: tenantNamespace(tenant, options.namespacePrefix),
        labels,
        annotations: { 'warmflow.dev/store': endpoint.store },
      },
      spec: {
        podSelector: { matchLabels: { ...WORKER_SELECTOR, [LABEL.pool]: labels[LABEL.pool] } },
        policyTypes: ['Egress'],
        egress: [rule],
      },
    });
  });
}
