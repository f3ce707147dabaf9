import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { calibrateFlow } from '../../src/predictor/calibration/calibrate-flow.js';
import { runInSandbox } from '../../src/predictor/calibration/sandbox.js';
import { modelFromCalibration } from '../../src/predictor/calibration/model-from-calibration.js';
import { defaultFunctionModel } from '../../src/predictor/model/defaults.js';
import { loadFlow } from '../../src/template/load-flow.js';

const fixtures = fileURLToPath(new URL('./fixtures/functions.ts', import.meta.url));
const clicks = Array.from({ length: 1200 }, (_, i) => ({
  user: i % 9 === 0 ? null : `u${i % 250}`,
  url: `HTTP://EXAMPLE/${i}`,
  ts: i,
  payload: 'x'.repeat((i * 37) % 800),
}));
const request = (exportName: string, records: unknown[], key?: string) => ({
  kind: 'calibrate' as const,
  module: fixtures,
  export: exportName,
  records,
  key,
  node: exportName,
  template: 'test',
  minCpuMsPerBucket: 10,
  timeBudgetMs: 3000,
  maxOutputs: 100,
});

describe('calibration in a sandbox child', () => {
  it('measures selectivity, output size and a CPU cost that grows with record size', async () => {
    const parse = await runInSandbox(request('parse', clicks), { timeoutMs: 20_000 });
    const expected = clicks.filter((c) => c.user !== null).length;
    expect(parse.records).toBe(1200);
    expect(parse.outputs_count).toBe(expected);
    expect(parse.outputs).toHaveLength(100);
    expect(parse.avg_output_size).toBeLessThan(parse.avg_input_size);
    expect(parse.base_rss_bytes).toBeGreaterThan(10e6);

    const hash = await runInSandbox(request('hashPayload', clicks), { timeoutMs: 20_000 });
    const model = modelFromCalibration(hash, defaultFunctionModel(), false);
    expect(hash.buckets.length).toBe(4);
    // 60 passes over the payload per record: the cost per byte dominates.
    expect(model.cpu_us_per_byte).toBeGreaterThan(0);
    // (×1.5, not the ~2.5× the sizes differ by: CPU timing on a shared 2-core machine is noisy)
    expect(hash.buckets[3].cpu_us).toBeGreaterThan(hash.buckets[0].cpu_us * 1.5);
  });

  it('counts keys and state bytes per key of a keyed function', async () => {
    const typed = clicks
      .filter((c) => c.user !== null)
      .map((c) => ({ user_id: c.user, url: c.url }));
    const result = await runInSandbox(request('countPerUser', typed, 'user_id'), {
      timeoutMs: 20_000,
    });
    expect(result.distinct_keys).toBe(new Set(typed.map((t) => t.user_id)).size);
    const model = modelFromCalibration(result, defaultFunctionModel(), true);
    expect(model.memory_per_key_bytes).toBeGreaterThanOrEqual(160);
    expect(model.memory_per_key_bytes).toBeLessThan(20_000);
    expect(model.selectivity).toBeCloseTo(result.outputs_count / typed.length);
  });

  it('counts records a function throws on and goes on', async () => {
    const result = await runInSandbox(request('flaky', clicks), { timeoutMs: 20_000 });
    const throwing = clicks.filter((c) => c.ts % 7 === 0).length;
    expect(result.errors).toBe(throwing);
    expect(result.first_error).toBe('bad record');
    expect(result.outputs_count).toBe(2 * (clicks.length - throwing));
  });

  it('fails clearly on a module that lacks the export, and on a timeout', async () => {
    await expect(runInSandbox(request('nope', clicks), { timeoutMs: 20_000 })).rejects.toThrow(
      /exports no function "nope"/,
    );
    await expect(runInSandbox(request('parse', clicks), { timeoutMs: 1 })).rejects.toThrow(
      /no result within 1 ms/,
    );
  });

  it('calibrates the clickstream example end to end, feeding each function its producer’s outputs', async () => {
    const flow = await loadFlow(
      fileURLToPath(new URL('../../examples/clickstream/flow.yaml', import.meta.url)),
    );
    const outcomes = await calibrateFlow(flow, defaultFunctionModel, {
      sampleSize: 800,
      minCpuMsPerBucket: 5,
    });
    for (const name of ['parse', 'enrich', 'sessionize']) {
      const outcome = outcomes.get(name)!;
      expect('model' in outcome, `${name}: ${'skipped' in outcome ? outcome.skipped : ''}`).toBe(
        true,
      );
    }
    const sessionize = outcomes.get('sessionize')!;
    if (!('model' in sessionize)) throw new Error('unreachable');
    expect(sessionize.result.distinct_keys).toBeGreaterThan(10);
    expect(sessionize.model.selectivity).toBeCloseTo(1, 5); // one summary per click
    const enrich = outcomes.get('enrich')!;
    if (!('model' in enrich)) throw new Error('unreachable');
    // enrich looks profiles up from the flow's seed file: its outputs carry the plan.
    expect(enrich.result.outputs.some((o) => (o as { plan?: string }).plan !== 'anonymous')).toBe(
      true,
    );
  });
});
