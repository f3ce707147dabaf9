/**
 * The parts behind the dashboard test: the server's real defaults where they
 * exist (template, profiler, predictor, pools, executor, history), and the
 * in-memory fakes for any part not yet wired, so the page is tested either way.
 */
import type { AppDeps } from '../../src/server/app-state.js';
import { defaultDeps } from '../../src/server/wiring.js';
import { FakeExecutor, FakeHistory, FakePools, FakePredictor, FakeProfiler } from './fakes.js';

export async function dashboardDeps(
  home: string,
): Promise<{ deps: Partial<AppDeps>; close: () => Promise<void> }> {
  const real = defaultDeps({ tenancy: undefined as never, fileRoots: [home] });
  const executor = new FakeExecutor();
  return {
    deps: {
      template: real.deps.template,
      profiler: real.deps.profiler ?? new FakeProfiler(),
      predictor: real.deps.predictor ?? new FakePredictor(1, 0.25),
      pools: real.deps.pools ?? new FakePools(),
      executor: real.deps.executor ?? executor,
      history: real.deps.history ?? new FakeHistory(executor),
    },
    close: real.close,
  };
}
