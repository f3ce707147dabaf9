import type { KubeObject } from './kube-api.js';

interface Terminated {
  reason?: string;
  exitCode?: number;
  message?: string;
}

/** The fields of a pod's status the provider reads. */
export interface PodStatusLike {
  phase?: string;
  reason?: string;
  message?: string;
  podIP?: string;
  conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  containerStatuses?: Array<{
    name?: string;
    ready?: boolean;
    state?: { terminated?: Terminated; waiting?: { reason?: string; message?: string } };
    lastState?: { terminated?: Terminated };
  }>;
}

/** What a pod's status means for the resource it is. */
export type PodView =
  | { state: 'pending'; detail: string }
  | { state: 'ready'; podIP: string }
  | { state: 'unready'; detail: string }
  | { state: 'exited'; reason: string; oomKilled: boolean };

/**
 * Reads a pod's status: ready (with its IP), still coming up (and why: the scheduler's
 * PodScheduled message, a container's waiting reason), no longer ready, or gone for good —
 * evicted, failed, OOM-killed (a container's `state` or `lastState.terminated.reason`),
 * or being deleted.
 */
export function viewPod(pod: KubeObject): PodView {
  const status = (pod.status ?? {}) as PodStatusLike;
  const containers = status.containerStatuses ?? [];
  const terminations = containers
    .flatMap((c) => [c.state?.terminated, c.lastState?.terminated])
    .filter((t) => t !== undefined);
  const oom = terminations.find((t) => t.reason === 'OOMKilled');
  if (oom !== undefined) {
    return {
      state: 'exited',
      reason: `OOMKilled: the worker exceeded its memory limit (exit code ${oom.exitCode ?? 137})`,
      oomKilled: true,
    };
  }
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    const cause = status.reason ?? terminations[0]?.reason ?? status.phase;
    const message = status.message ?? terminations[0]?.message;
    return { state: 'exited', reason: message ? `${cause}: ${message}` : cause, oomKilled: false };
  }
  const stopped = containers.find((c) => c.state?.terminated !== undefined)?.state?.terminated;
  if (stopped !== undefined) {
    return {
      state: 'exited',
      reason: `container exited: ${stopped.reason ?? 'Error'} (exit code ${stopped.exitCode ?? '?'})`,
      oomKilled: false,
    };
  }
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) {
    return { state: 'exited', reason: 'pod is being deleted', oomKilled: false };
  }
  const conditions = status.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
  if (status.phase === 'Running' && ready && status.podIP)
    return { state: 'ready', podIP: status.podIP };
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return {
      state: 'pending',
      detail: `not scheduled: ${scheduled.message ?? scheduled.reason ?? 'no reason given'}`,
    };
  }
  const waiting = containers.find((c) => c.state?.waiting !== undefined)?.state?.waiting;
  if (waiting !== undefined) {
    return {
      state: 'pending',
      detail: `container waiting: ${waiting.reason ?? '?'}${waiting.message ? ` (${waiting.message})` : ''}`,
    };
  }
  if (status.phase === 'Running')
    return { state: 'unready', detail: 'running, readiness probe not passing' };
  return { state: 'pending', detail: `phase ${status.phase ?? 'Pending'}` };
}
