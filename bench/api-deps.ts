/**
 * The parts of the server the API benchmark does not exercise. It measures
 * authentication, rate quotas, validation and flow registration, which need only
 * the tenant store and the template part; any other call means the benchmark is
 * broken, so these refuse loudly instead of pretending.
 */
import { WarmflowError } from '../src/errors.js';
import type { AppDeps } from '../src/server/app-state.js';
import { defaultDeps } from '../src/server/wiring.js';

function refuse(part: string): never {
  throw new WarmflowError('E_BENCH', `the API benchmark does not use the ${part}`);
}

/** The template part from the defaults; refusing stand-ins for the rest when the defaults lack them. */
export function refusingDeps(): Partial<AppDeps> {
  const real = defaultDeps({ tenancy: undefined as never, fileRoots: [process.cwd()] }).deps;
  return {
    template: real.template,
    profiler: real.profiler ?? { profile: async () => refuse('profiler') },
    predictor: real.predictor ?? { predict: async () => refuse('predictor') },
    pools: real.pools ?? {
      preProvision: async () => refuse('pools'),
      list: async () => [],
      drain: async () => false,
    },
    executor: real.executor ?? { execute: async () => refuse('executor') },
    history: real.history ?? { runs: async () => [] },
  };
}
