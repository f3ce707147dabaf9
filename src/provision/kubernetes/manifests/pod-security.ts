import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IContainer } from 'kubernetes-models/v1/Container';

/** Volume types the Pod Security `restricted` profile allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/**
 * Why a pod would be refused by Pod Security `restricted` (the checks of the Kubernetes
 * "Pod Security Standards" page, as far as warmflow's pods can touch them), plus warmflow's
 * own rules: read-only root filesystem, no service-account token, Guaranteed QoS.
 * Empty means the pod meets them. Admission on a real cluster is the final word.
 */
export function podSecurityProblems(pod: IPod): string[] {
  const problems: string[] = [];
  const spec = pod.spec;
  if (spec === undefined) return ['pod has no spec'];
  const podContext = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push('shares a host namespace');
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type === undefined || !RESTRICTED_VOLUMES.has(type))
      problems.push(`volume ${volume.name} of type ${type} is not allowed`);
  }
  if (spec.automountServiceAccountToken !== false) problems.push('mounts a service account token');
  const containers: IContainer[] = [...(spec.initContainers ?? []), ...spec.containers];
  for (const container of containers) {
    const context = container.securityContext ?? {};
    const name = `container ${container.name}`;
    if (context.privileged) problems.push(`${name} is privileged`);
    if (context.allowPrivilegeEscalation !== false)
      problems.push(`${name} allows privilege escalation`);
    if (!(context.capabilities?.drop ?? []).includes('ALL'))
      problems.push(`${name} does not drop ALL capabilities`);
    const added = (context.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) problems.push(`${name} adds capabilities ${added.join(', ')}`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
      problems.push(`${name} may run as root`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${name} runs as uid 0`);
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${name} has no RuntimeDefault seccomp profile`);
    if (
      (container.ports ?? []).some((port) => port.hostPort !== undefined && port.hostPort !== 0)
    ) {
      problems.push(`${name} uses a host port`);
    }
    if (context.readOnlyRootFilesystem !== true)
      problems.push(`${name} has a writable root filesystem`);
    const { requests = {}, limits = {} } = container.resources ?? {};
    for (const resource of ['cpu', 'memory']) {
      if (
        limits[resource] === undefined ||
        String(requests[resource]) !== String(limits[resource])
      ) {
        problems.push(`${name}: ${resource} request must equal its limit (Guaranteed QoS)`);
      }
    }
  }
  return problems;
}
