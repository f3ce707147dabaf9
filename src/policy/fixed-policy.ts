import type { KeepAliveDecision, KeepAlivePolicy } from './keep-alive-policy.js';

/**
 * `fixed:K`: keep every unit warm for K minutes after each invocation minute, never
 * pre-warm — what AWS Lambda and OpenWhisk do (K = 10).
 */
export function fixedPolicy(minutes: number, spec = `fixed:${minutes}`): KeepAlivePolicy {
  const decision: KeepAliveDecision = Object.freeze({
    pre: 0,
    ka: minutes,
    reason: `fixed keep-alive of ${minutes} min`,
  });
  return {
    spec,
    needsReference: false,
    unit: () => ({ afterInvocation: () => decision }),
  };
}
