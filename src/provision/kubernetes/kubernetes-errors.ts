import { WarmflowError, type ErrorCode } from '../../errors.js';

/** What an API failure says, whichever way the client reported it. */
export interface ApiFailure {
  /** HTTP status, 0 when the server was not reached. */
  status: number;
  reason: string;
  message: string;
}

/**
 * Reads the HTTP status and the Kubernetes `Status` body out of what the client threw:
 * an `ApiException` (`code`, `body` as object or JSON text), a watch error (`statusCode`),
 * or a network error (status 0).
 */
export function apiFailure(error: unknown): ApiFailure {
  const e = (error ?? {}) as {
    code?: unknown;
    statusCode?: unknown;
    body?: unknown;
    message?: unknown;
  };
  const status =
    typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : 0;
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body };
    }
  }
  const statusBody = (body ?? {}) as { reason?: unknown; message?: unknown };
  const message =
    typeof statusBody.message === 'string'
      ? statusBody.message
      : typeof e.message === 'string'
        ? e.message
        : String(error);
  return {
    status,
    reason: typeof statusBody.reason === 'string' ? statusBody.reason : '',
    message,
  };
}

/** Whether the error is the API saying `status`. */
export function isStatus(error: unknown, status: number): boolean {
  return apiFailure(error).status === status;
}

/**
 * Turns an API failure into the error a user sees. A quota rejection names the quota and what
 * was requested, used and limited; other refusals say what to check.
 */
export function toWarmflowError(error: unknown, doing: string, tenant?: string): WarmflowError {
  const failure = apiFailure(error);
  const who = tenant === undefined ? '' : ` for tenant "${tenant}"`;
  const quota = /exceeded quota: ([^,]+), requested: (.*?), used: (.*?), limited: (.*)$/.exec(
    failure.message,
  );
  if (failure.status === 403 && quota !== null) {
    return new WarmflowError(
      'E_QUOTA',
      `Kubernetes refused ${doing}${who}: exceeded quota "${quota[1]}" (requested ${quota[2]}, used ${quota[3]}, limited ${quota[4]})`,
      {
        cause: error,
        hint: `raise the tenant's quota (cpu_cores, memory_gb, pods, gpus), lower the RPR, or release warm resources with \`warmflow pool down\``,
      },
    );
  }
  const hints: Record<number, [ErrorCode, string]> = {
    0: [
      'E_K8S_UNREACHABLE',
      'check the kubeconfig (KUBECONFIG, ~/.kube/config) or the in-cluster service account',
    ],
    401: ['E_K8S_UNAUTHORIZED', 'the kubeconfig credentials were refused; refresh them'],
    403: ['E_K8S_FORBIDDEN', 'grant the orchestrator the RBAC rules listed in docs/kubernetes.md'],
    422: ['E_K8S_INVALID', 'an admission check refused the object; see the message'],
  };
  const [code, hint] = hints[failure.status] ?? [
    'E_K8S_API',
    'see the message; rerun with --verbose for the cause',
  ];
  const status = failure.status === 0 ? 'unreachable' : `HTTP ${failure.status}`;
  return new WarmflowError(
    code,
    `Kubernetes refused ${doing}${who} (${status}): ${failure.message}`,
    { cause: error, hint },
  );
}

/** A pod that died before it was Ready (an OOM kill while warming says the RPR is too small). */
export function podFailedError(
  resourceId: string,
  nodeId: string,
  reason: string,
  oomKilled: boolean,
): WarmflowError {
  return new WarmflowError(
    'E_K8S_POD_FAILED',
    `pod ${resourceId} (node "${nodeId}") failed before it was ready: ${reason}`,
    {
      hint: oomKilled
        ? 'the RPR memory_gb is too small for this node'
        : 'see `kubectl describe pod` in the tenant namespace',
    },
  );
}

/** A pod not Ready in time, with why: the scheduler's message or the container's waiting reason. */
export function notReadyError(
  resourceId: string,
  nodeId: string,
  why: string,
  timeoutMs: number,
): WarmflowError {
  return new WarmflowError(
    'E_K8S_NOT_READY',
    `pod ${resourceId} (node "${nodeId}") was not Ready after ${Math.round(timeoutMs / 1000)} s: ${why}`,
    {
      hint: /not scheduled/.test(why)
        ? 'no node can take it: lower the RPR, add nodes, or fix the node selector / tolerations'
        : 'check the image and the worker logs (`kubectl logs` in the tenant namespace)',
    },
  );
}
