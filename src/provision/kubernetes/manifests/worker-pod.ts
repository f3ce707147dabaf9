import { randomBytes } from 'node:crypto';
import { Pod } from 'kubernetes-models/v1/Pod';
import type { ProvisionRequest } from '../../provider.js';
import { dnsFragment, labelValue } from '../names.js';
import { cpuQuantity, memoryQuantity, parseQuantity } from '../quantity.js';
import { ANNOTATION, LABEL, WORKER_SELECTOR, poolLabels } from './labels.js';
import type { ManifestOptions } from './manifest-options.js';
import { TENANT_OBJECT, tenantNamespace } from './tenant-manifests.js';
import { IMAGE_WORKDIR, workerInvocation } from './worker-command.js';

/** The user and group the worker runs as, in the image and in the pod. */
export const WORKER_UID = 10001;

/** GPU resource name of the NVIDIA device plugin. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * A pod name, which is also the resource id: `wf-<template>-<node>-<nonce>`, at most 63
 * characters (it is also a label value). The provider passes a random nonce; printing
 * manifests passes a stable one so the output can be diffed.
 */
export function workerPodName(
  template: string,
  nodeId: string,
  nonce = randomBytes(5).toString('hex'),
): string {
  return `wf-${dnsFragment(template, 22)}-${dnsFragment(nodeId, 22)}-${dnsFragment(nonce, 12)}`;
}

/** What a worker pod is built from: the provision request without its token (that lives in the Secret). */
export type WorkerPodInput = Omit<ProvisionRequest, 'token'> & { resourceId: string };

/**
 * The pod of one resource: the worker with Guaranteed QoS (requests equal limits, from the
 * RPR), a GPU when the RPR asks for one, a TCP readiness probe on the worker port (the worker
 * only listens once its node code is loaded and its stores are open, so Ready means warm),
 * and a security context that meets Pod Security `restricted` with a read-only root.
 */
export function buildWorkerPod(input: WorkerPodInput, options: ManifestOptions): Pod {
  const { rpr } = input;
  const limits: Record<string, string> = {
    cpu: cpuQuantity(rpr.cpu_cores),
    memory: memoryQuantity(rpr.memory_gb),
  };
  if (rpr.gpu_enabled) limits[GPU_RESOURCE] = '1';
  const requests: Record<string, string> = { ...limits };
  // Local disk the node keeps data on (SQLite state, files), beside /tmp: requested, so the
  // scheduler places the pod where it fits; no limit, which would evict a pod that outgrows it.
  const storageBytes = rpr.reasoning?.storage_bytes ?? 0;
  if (rpr.storage_type === 'local_disk' && storageBytes > 0)
    requests['ephemeral-storage'] =
      `${Math.ceil((storageBytes * 1.25) / 2 ** 20 + parseQuantity(options.tmpSizeLimit) / 2 ** 20)}Mi`;
  const annotations: Record<string, string> = {};
  // The CNI bandwidth plugin shapes a pod by these (twice the prediction: a limit, not a target).
  if ((rpr.network_bandwidth_mbps ?? 0) > 0) {
    const mbit = `${Math.max(1, Math.ceil(rpr.network_bandwidth_mbps! * 2))}M`;
    annotations['kubernetes.io/ingress-bandwidth'] = mbit;
    annotations['kubernetes.io/egress-bandwidth'] = mbit;
  }
  if (rpr.storage_type !== undefined) annotations[ANNOTATION.storageType] = rpr.storage_type;
  const invocation = workerInvocation({
    template: input.template,
    resourceId: input.resourceId,
    nodeIds: input.node_ids,
    cpuCores: rpr.cpu_cores,
    memoryGb: rpr.memory_gb,
    warm: input.warm,
    port: options.workerPort,
  });
  return new Pod({
    metadata: {
      name: input.resourceId,
      namespace: tenantNamespace(input.tenant, options.namespacePrefix),
      labels: {
        ...WORKER_SELECTOR,
        ...poolLabels(input.tenant, input.template),
        [LABEL.node]: labelValue(rpr.node_id),
        [LABEL.resourceId]: input.resourceId,
      },
      annotations: {
        [ANNOTATION.tenant]: input.tenant,
        [ANNOTATION.template]: input.template,
        [ANNOTATION.nodeId]: rpr.node_id,
        [ANNOTATION.nodeIds]: JSON.stringify(input.node_ids),
        [ANNOTATION.rpr]: JSON.stringify(rpr),
        ...annotations,
      },
    },
    spec: {
      serviceAccountName: TENANT_OBJECT.serviceAccount,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // A worker that dies is a dead resource: the pool replaces it with a fresh, warm one.
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      nodeSelector:
        Object.keys(options.nodeSelector).length > 0 ? { ...options.nodeSelector } : undefined,
      tolerations:
        options.tolerations.length > 0 ? options.tolerations.map((t) => ({ ...t })) : undefined,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: WORKER_UID,
        runAsGroup: WORKER_UID,
        fsGroup: WORKER_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'worker',
          image: options.image,
          imagePullPolicy: options.imagePullPolicy,
          workingDir: IMAGE_WORKDIR,
          command: invocation.command,
          args: invocation.args,
          env: invocation.env,
          ports: [{ name: 'worker', containerPort: options.workerPort, protocol: 'TCP' }],
          resources: { requests, limits },
          readinessProbe: {
            tcpSocket: { port: 'worker' },
            periodSeconds: options.readinessPeriodSeconds,
            failureThreshold: 3,
          },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: WORKER_UID,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: options.tmpSizeLimit } }],
    },
  });
}
