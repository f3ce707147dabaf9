import type { Command } from 'commander';
import { WarmflowError } from '../../errors.js';
import { readRprsFile } from './rpr-file.js';
import { flowProvisionRequests } from '../../provision/kubernetes/flow-requests.js';
import {
  applyOrder,
  buildProvisionManifests,
  resolveManifestOptions,
  resolveTenantQuotas,
  toYaml,
  workerPodName,
  type ManifestOptions,
  type TenantQuotas,
} from '../../provision/kubernetes/manifests/index.js';
import { loadFlow, type LoadedFlow } from '../../template/load-flow.js';
import { StoreCatalogue } from '../../stores/store-catalogue.js';
import { isIP } from 'node:net';

interface ManifestsFlags {
  rpr: string;
  tenant: string;
  image?: string;
  namespacePrefix?: string;
  workerPort?: string;
  nodeSelector: string[];
  quota?: string;
  stores?: string;
  denyCidr: string[];
  json?: boolean;
}

/**
 * `warmflow k8s manifests FLOW --rpr RPR.json --tenant T`: prints, offline, every object the
 * Kubernetes provider would apply for that flow's RPRs — for a cluster admin to review or
 * `kubectl apply --dry-run=server -f -`.
 */
export function registerK8s(program: Command): void {
  const k8s = program.command('k8s').description('Kubernetes provider tools');
  k8s
    .command('manifests')
    .description(
      'print the namespace, policies, Secret and pods the Kubernetes provider would apply',
    )
    .argument('<flow>', 'flow file (.yaml or a .ts/.js module exporting defineFlow(...))')
    .requiredOption(
      '--rpr <file>',
      'RPRs as JSON: an array, { "rprs": [...] } (predict --json), or one RPR',
    )
    .option('--tenant <tenant>', 'tenant whose namespace the pods go to', 'default')
    .option('--image <image>', 'worker image')
    .option('--namespace-prefix <prefix>', 'prefix of tenant namespaces', 'warmflow-')
    .option('--worker-port <port>', 'port the worker listens on in the pod')
    .option('--node-selector <key=value>', 'node selector label (repeatable)', collect, [])
    .option('--quota <k=v,...>', 'tenant quota: cpu_cores, memory_gb, pods, gpus')
    .option(
      '--stores <file>',
      "the server's store catalogue (serve --stores): the flow's stores must name instances granted to --tenant, and egress goes only to them",
    )
    .option(
      '--deny-cidr <ip or cidr>',
      'an address range no worker may reach, e.g. the API server (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print a JSON array instead of multi-document YAML')
    .addHelpText(
      'after',
      '\nPod names end in a stable suffix here; the provider uses a random one per pod.\n' +
        'The Secret shows a placeholder token; the pool generates a real one per pool.',
    )
    .action(async (flowFile: string, flags: ManifestsFlags) => {
      const flow = await loadFlow(flowFile);
      const rprs = await readRprsFile(flags.rpr, flow.template);
      const options = manifestOptions(flags);
      const quotas = parseQuotas(flags.quota);
      if (flags.stores !== undefined)
        grantStores(flow, StoreCatalogue.load(flags.stores), flags.tenant);
      const requests = flowProvisionRequests(flow, rprs, flags.tenant);
      const groups = requests.map((request) =>
        buildProvisionManifests(
          request,
          workerPodName(request.template, request.rpr.node_id, 'sample'),
          quotas,
          options,
        ),
      );
      const manifests = applyOrder(groups);
      for (const request of requests) {
        for (const [name, store] of Object.entries(request.warm.stores)) {
          // Whatever its path here, in a pod the file would be on a read-only root or in a
          // /tmp emptyDir lost with the pod: sqlite never holds data across pods.
          if (store.kind === 'sqlite') {
            process.stderr.write(
              `warning: node "${request.rpr.node_id}" uses sqlite store "${name}" at ${store.path}; a worker pod's root ` +
                'filesystem is read-only (only /tmp is writable, and lost with the pod): use redis or postgres on Kubernetes\n',
            );
          }
        }
      }
      if (flags.json)
        process.stdout.write(
          JSON.stringify(
            manifests.map((m) => m.toJSON()),
            null,
            2,
          ) + '\n',
        );
      else process.stdout.write(toYaml(manifests));
    });
}

/**
 * Replaces the flow's network stores by the catalogue instances granted to `tenant`, as a
 * server does: a store that gives its own URL, or names an instance not granted, is refused.
 */
function grantStores(flow: LoadedFlow, catalogue: StoreCatalogue, tenant: string): void {
  const stores = flow.spec.stores ?? {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(stores)) {
    if (spec.kind !== 'redis' && spec.kind !== 'postgres') continue;
    const grant = catalogue.grant(tenant, name, spec);
    if ('problem' in grant) problems.push(grant.problem);
    else stores[name] = grant.spec;
  }
  if (problems.length > 0)
    throw new WarmflowError('E_STORE_EGRESS', problems.join('; '), {
      hint: 'with --stores, a flow names store instances of the catalogue granted to --tenant, without urls',
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function manifestOptions(flags: ManifestsFlags): ManifestOptions {
  const nodeSelector: Record<string, string> = {};
  for (const pair of flags.nodeSelector) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined) {
      throw new WarmflowError('E_INVALID_ARGUMENTS', `--node-selector "${pair}" is not key=value`);
    }
    nodeSelector[key] = value;
  }
  for (const cidr of flags.denyCidr) {
    const [address, bits] = cidr.split('/');
    const version = isIP(address ?? '');
    const max = version === 4 ? 32 : 128;
    if (
      version === 0 ||
      (bits !== undefined &&
        !(Number.isInteger(Number(bits)) && Number(bits) >= 0 && Number(bits) <= max))
    )
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--deny-cidr "${cidr}" is not an IP address or CIDR`,
      );
  }
  const partial: Partial<ManifestOptions> = { nodeSelector, deniedCidrs: flags.denyCidr };
  if (flags.image !== undefined) partial.image = flags.image;
  if (flags.namespacePrefix !== undefined) partial.namespacePrefix = flags.namespacePrefix;
  if (flags.workerPort !== undefined) {
    const port = Number(flags.workerPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--worker-port ${flags.workerPort} is not a TCP port`,
      );
    }
    partial.workerPort = port;
  }
  return resolveManifestOptions(partial);
}

function parseQuotas(text: string | undefined): TenantQuotas {
  const quotas: Partial<TenantQuotas> = {};
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    const amount = Number(value);
    if (!['cpu_cores', 'memory_gb', 'pods', 'gpus'].includes(key ?? '') || !(amount >= 0)) {
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--quota "${pair}" is not one of cpu_cores, memory_gb, pods, gpus = a number`,
      );
    }
    quotas[key as keyof TenantQuotas] = amount;
  }
  return resolveTenantQuotas(quotas);
}
