import { WarmflowError } from '../errors.js';
import type { CostModel } from './cost-model.js';
import { fixedPolicy } from './fixed-policy.js';
import { hybridPolicy } from './hybrid-policy.js';
import type { KeepAlivePolicy } from './keep-alive-policy.js';
import { warmflowPolicy } from './warmflow-policy.js';

const SYNTAX =
  'policies: fixed:K (K ≥ 1 minutes), hybrid, warmflow (cost mode), warmflow:B (budget B > 0 × fixed:10)';

/**
 * Makes a policy from its spec: `fixed:K`, `hybrid`, `warmflow` (cost mode) or
 * `warmflow:B` (budget mode: wasted memory within B × that of `fixed:10`).
 */
export function parsePolicy(spec: string, costModel?: CostModel): KeepAlivePolicy {
  const text = spec.trim();
  const [name, arg, extra] = text.split(':');
  const fail = (why: string): never => {
    throw new WarmflowError('E_INVALID_POLICY', `policy "${spec}": ${why}`, { hint: SYNTAX });
  };
  if (extra !== undefined) fail('too many ":"');
  switch (name) {
    case 'fixed': {
      if (arg === undefined || !/^\d+$/.test(arg) || Number(arg) < 1) {
        return fail('fixed needs a keep-alive of K ≥ 1 whole minutes, e.g. fixed:10');
      }
      return fixedPolicy(Number(arg), text);
    }
    case 'hybrid':
      if (arg !== undefined) fail('hybrid takes no argument');
      return hybridPolicy(text);
    case 'warmflow': {
      if (arg === undefined) return warmflowPolicy({ spec: text, costModel });
      const budget = Number(arg);
      if (arg.trim() === '' || !Number.isFinite(budget) || budget <= 0) {
        return fail(
          'the budget B of warmflow:B is a number > 0 (times the wasted memory of fixed:10)',
        );
      }
      return warmflowPolicy({ spec: text, budget, costModel });
    }
    default:
      return fail(`unknown policy "${name ?? ''}"`);
  }
}

/** Splits `--policy a,b,c` and parses each, refusing duplicates (the JSON is keyed by spec). */
export function parsePolicies(list: string, costModel?: CostModel): KeepAlivePolicy[] {
  const specs = list.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  for (const s of specs) {
    if (s === '') {
      throw new WarmflowError('E_INVALID_POLICY', `empty policy in "${list}"`, { hint: SYNTAX });
    }
    if (seen.has(s)) {
      throw new WarmflowError('E_INVALID_POLICY', `policy "${s}" given twice`, { hint: SYNTAX });
    }
    seen.add(s);
  }
  return specs.map((s) => parsePolicy(s, costModel));
}
