import type { RunResult } from '../../src/worker/dataplane/deploy-spec.js';

/** The answer of a fake data plane to a `df.run` it ends at once: nothing was done. */
export const NO_WORK: RunResult = {
  nodes: {},
  cpu_seconds: 0,
  peak_rss_bytes: 0,
  elapsed_ms: 0,
  threads: 1,
  first_store_write_at: null,
};
