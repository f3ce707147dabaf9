import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExampleData } from '../../examples/generate.js';
import { calibrateOnEngine } from '../../src/flow/calibrate-on-engine.js';
import { planGroups } from '../../src/execute/plan.js';
import { readSample } from '../../src/sources/read-sample.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { itemFlow, outputLines, repo, runOnEngine, tempDir } from './run-helpers.js';

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

describe('chunk_bytes', () => {
  it('a run read in tiny chunks (chunk_bytes: 512) gives the same records as one in the default chunks', async () => {
    const functions =
      'export function tag(item) { return { id: item.id, even: item.id % 2 === 0 }; }\n';
    const lines = Array.from({ length: 3000 }, (_, id) =>
      JSON.stringify({ id, pad: 'x'.repeat(id % 50) }),
    );
    const { flowFile } = itemFlow('tag', lines, functions);
    const sorted = (file: string) => outputLines(file).sort();
    const plain = await runOnEngine(flowFile, provider);
    // ~300 chunks of 512 bytes instead of 16 KiB ones: many more chunk hand-offs between the threads.
    const tiny = await runOnEngine(flowFile, provider, { chunk_bytes: 512 });
    expect(plain.status.outcome).toBe('succeeded');
    expect(tiny.status.outcome).toBe('succeeded');
    const a = sorted(path.join(plain.outDir, 'Out.jsonl'));
    expect(a).toHaveLength(3000);
    expect(sorted(path.join(tiny.outDir, 'Out.jsonl'))).toEqual(a);
  });
});
