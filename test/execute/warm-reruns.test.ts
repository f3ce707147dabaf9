import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExampleData } from '../../examples/generate.js';
import { calibrateOnEngine } from '../../src/execute/calibrate-on-engine.js';
import { planGroups } from '../../src/execute/plan.js';
import { readSample } from '../../src/predictor/calibration/sample-reader.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { repo, tempDir } from './run-helpers.js';

let provider: LocalProvider;
const stallBefore = process.env.WARMFLOW_STALL_TIMEOUT_MS;
beforeAll(() => {
  provider = new LocalProvider();
  // A lost message shows as a stall: fail fast rather than wait for the test timeout.
  process.env.WARMFLOW_STALL_TIMEOUT_MS = '8000';
});
afterAll(async () => {
  process.env.WARMFLOW_STALL_TIMEOUT_MS = stallBefore;
  await provider.close();
});

describe('back-to-back runs on the same warm resource', () => {
  // Regressions, each seen about once in twenty warm re-runs of iot (two threads, two keyed
  // functions): (1) a thread with little to do reported `source-done` before its peer had
  // reported `deployed`, and the worker, not yet expecting it, dropped it and waited forever;
  // (2) a thread fast to deploy sent chunk shares to a peer still on the previous run, which
  // handed them to that run. Expectations are now set before the deploy goes out and peer
  // messages carry their execution id.
  it('60 warm re-runs of iot (two threads, two keyed exchanges) all finish, each with the same counts', async () => {
    const flow = await loadFlow(path.join(repo, 'examples/iot/flow.yaml'));
    const dir = tempDir('warmflow-reruns-');
    await writeExampleData('iot', dir, 3000);
    const stream = Object.keys(flow.spec.streams ?? {})[0];
    const source = flow.spec.streams![stream].source!;
    const samples = { [stream]: await readSample(path.join(dir, path.basename(source)), 1000) };
    const calibration = await calibrateOnEngine(flow, {
      samples,
      groups: planGroups(flow.template),
      provider,
      recordsPerPass: 3000,
      warmPasses: 60,
    });
    expect(calibration.warm_passes).toBe(60);
    expect(calibration.groups[0].threads).toBe(2);
    expect(calibration.nodes.validate.records_in).toBe(3000);
    expect(calibration.nodes.detect.records_in).toBeGreaterThan(0);
  }, 120_000);
});
