import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { WarmSpec } from '../../provider.js';
import { TOKEN_KEY, poolSecretName, warmKey } from './pool-manifests.js';

/** Working directory of the worker image (see the Dockerfile). */
export const IMAGE_WORKDIR = '/app';

// These three mirror src/worker (main.ts, spawn.ts); manifests.test.ts checks they agree, and
// they are copied rather than imported so that building manifests never loads the worker runtime.

/** Environment variable carrying the pool token into the worker. */
export const TOKEN_ENV = 'WARMFLOW_WORKER_TOKEN';
/** Environment variable carrying the JSON WarmSpec into the worker. */
export const WARM_ENV = 'WARMFLOW_WARM_SPEC';

/** V8 old-space limit for a worker bounded to `memoryGb`, as the local provider sets it. */
export function heapLimitMb(memoryGb: number): number {
  return Math.max(64, Math.floor(memoryGb * 1024 * 0.75));
}

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
    // The container's memory limit kills the whole process; the heap limit makes V8 fail
    // (and report) first, exactly as for a local worker.
    command: [
      'node',
      `--max-old-space-size=${heapLimitMb(input.memoryGb)}`,
      'bin/warmflow.js',
      'worker',
    ],
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
