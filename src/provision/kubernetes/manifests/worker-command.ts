import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { WarmSpec } from '../../provider.js';
import { TOKEN_KEY, poolSecretName, warmKey } from './pool-manifests.js';

/** Working directory of the worker image (see the Dockerfile). */
export const IMAGE_WORKDIR = '/app';

/** Environment variable carrying the pool token into the worker. */
export const TOKEN_ENV = 'WARMFLOW_WORKER_TOKEN';
/** Environment variable carrying the JSON WarmSpec into the worker. */
export const WARM_ENV = 'WARMFLOW_WARM_SPEC';

/** What the pod's container runs, as `command` + `args` + `env`. */
export interface WorkerInvocation {
  command: string[];
  args: string[];
  env: IEnvVar[];
}

/**
 * The same `warmflow worker` a local resource runs, listening on all pod interfaces. Neither
 * the token nor the WarmSpec (store URLs may hold passwords) appears in the pod spec: both
 * come from the pool Secret through `secretKeyRef`.
 * The warm spec's module paths must exist inside the image (bake the flow's code into an
 * image built `FROM` the worker image at the same absolute path).
 */
export function workerInvocation(input: {
  template: string;
  resourceId: string;
  nodeIds: string[];
  cpuCores: number;
  memoryGb: number;
  warm: WarmSpec;
  port: number;
}): WorkerInvocation {
  return {
    command: ['node', 'bin/warmflow.js', 'worker'],
    args: [
      '--listen',
      `0.0.0.0:${input.port}`,
      '--resource-id',
      input.resourceId,
      '--nodes',
      input.nodeIds.join(','),
      '--cpu-cores',
      String(input.cpuCores),
      '--memory-gb',
      String(input.memoryGb),
    ],
    env: [
      {
        name: TOKEN_ENV,
        valueFrom: { secretKeyRef: { name: poolSecretName(input.template), key: TOKEN_KEY } },
      },
      {
        name: WARM_ENV,
        valueFrom: {
          secretKeyRef: { name: poolSecretName(input.template), key: warmKey(input.warm) },
        },
      },
      // The root filesystem is read-only; anything that wants a home or a temp dir gets /tmp.
      { name: 'HOME', value: '/tmp' },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'NODE_ENV', value: 'production' },
    ],
  };
}
