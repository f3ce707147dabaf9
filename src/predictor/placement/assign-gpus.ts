import { WarmflowError } from '../../errors.js';

/** A node's GPU wish and how much CPU it would otherwise need. */
export interface GpuCandidate {
  node_id: string;
  gpu: 'none' | 'optional' | 'required';
  /** Fractional cores the node needs on CPU alone. */
  cores_needed: number;
}

/** Decision per node: whether it gets a GPU, and why. */
export interface GpuDecision {
  gpu_enabled: boolean;
  reason: string;
}

/**
 * Hands out the provider's GPUs: `required` functions first (none left is a
 * WarmflowError E_GPU_UNAVAILABLE naming them), then `optional` functions by predicted
 * CPU load, heaviest first, only when that load exceeds `minCoresForOptional` (a GPU
 * is not worth a function one core keeps up with).
 */
export function assignGpus(
  candidates: readonly GpuCandidate[],
  gpusAvailable: number,
  minCoresForOptional = 1,
): Map<string, GpuDecision> {
  const out = new Map<string, GpuDecision>();
  const required = candidates.filter((c) => c.gpu === 'required');
  if (required.length > gpusAvailable) {
    const names = required.map((c) => `"${c.node_id}"`).join(', ');
    throw new WarmflowError(
      'E_GPU_UNAVAILABLE',
      `${names} require${required.length === 1 ? 's' : ''} a GPU; the provider offers ${gpusAvailable}`,
      { hint: 'run on a provider with GPUs (pass --gpus N), or mark the function `gpu: optional`' },
    );
  }
  let left = gpusAvailable - required.length;
  for (const c of required)
    out.set(c.node_id, { gpu_enabled: true, reason: 'the function requires a GPU' });
  const optional = candidates
    .filter((c) => c.gpu === 'optional')
    .sort((a, b) => b.cores_needed - a.cores_needed);
  for (const c of optional) {
    if (left > 0 && c.cores_needed > minCoresForOptional) {
      left -= 1;
      out.set(c.node_id, {
        gpu_enabled: true,
        reason: `GPU optional and its load (${c.cores_needed.toFixed(2)} cores on CPU) justifies one`,
      });
    } else {
      out.set(c.node_id, {
        gpu_enabled: false,
        reason:
          left <= 0
            ? 'GPU optional, but the provider has none left'
            : `GPU optional, but ${c.cores_needed.toFixed(2)} cores of load do not justify one`,
      });
    }
  }
  for (const c of candidates)
    if (!out.has(c.node_id))
      out.set(c.node_id, { gpu_enabled: false, reason: 'no GPU use declared' });
  return out;
}
