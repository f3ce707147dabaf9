import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlow } from '../../src/flow/run-flow.js';

const repo = path.resolve(import.meta.dirname, '../..');
const flowFile = path.join(repo, 'examples/clickstream/flow.yaml');

describe("a replayed file's DCP gives the rate the run will see, its own rate beside", () => {
  let dir: string;
  const previousHome = process.env.WARMFLOW_HOME;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-replay-rate-'));
    process.env.WARMFLOW_HOME = path.join(dir, 'home');
  });
  afterAll(() => {
    if (previousHome === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = previousHome;
    rmSync(dir, { recursive: true, force: true });
  });

  const sourceRate = (result: Awaited<ReturnType<typeof runFlow>>) =>
    result.rprs.find((r) => r.node_id === 'source:clicks')!.reasoning!.inputs!.records_per_second;

  it('--rate: the replay rate, and the predictor sizes the source by it', async () => {
    const result = await runFlow(flowFile, {
      rate: 2000,
      calibrate: 'none',
      cold: true,
      outDir: path.join(dir, 'out-rate'),
    });
    expect(result.status.outcome).toBe('succeeded');
    const { volume } = result.dcps.clicks;
    expect(volume.rate_source).toBe('replay_rate');
    expect(volume.records_per_second).toBe(2000);
    // clickstream's clicks carry event times about ten seconds apart.
    expect(volume.event_time_records_per_second).toBeGreaterThan(0);
    expect(volume.event_time_records_per_second).toBeLessThan(1);
    expect(sourceRate(result)).toBe(2000);
  });

  it('as fast as possible: the calibrated throughput of the engine passes', async () => {
    const result = await runFlow(flowFile, { cold: true, outDir: path.join(dir, 'out-fast') });
    expect(result.status.outcome).toBe('succeeded');
    const { volume } = result.dcps.clicks;
    expect(volume.rate_source).toBe('calibrated_throughput');
    // Thousands of records a second on the engine, not the event times' fraction of one.
    expect(volume.records_per_second).toBeGreaterThan(100);
    expect(volume.event_time_records_per_second).toBeLessThan(1);
    expect(sourceRate(result)).toBeCloseTo(volume.records_per_second, 0);
  });
});
