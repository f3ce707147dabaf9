import { cpSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExampleData } from '../../examples/generate.js';
import { calibrateOnEngine } from '../../src/flow/calibrate-on-engine.js';
import { planGroups } from '../../src/execute/plan.js';
import { readSample } from '../../src/sources/read-sample.js';
import { predict } from '../../src/predictor/predict.js';
import { profile } from '../../src/profiler/profile.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { repo, tempDir } from './run-helpers.js';

let provider: LocalProvider;
beforeAll(() => {
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

describe('calibrateOnEngine', () => {
  it('runs the sample through the flow on real workers (two streams, a seeded lookup, keyed state) without touching its stores', async () => {
    // A copy of the orders example, so "nothing written where the real run writes" is checkable.
    const dir = tempDir('warmflow-calibrate-');
    cpSync(path.join(repo, 'examples/orders'), dir, {
      recursive: true,
      filter: (from) => !from.includes(`${path.sep}out`) && !from.includes(`${path.sep}data`),
    });
    // Its .ts functions are ES modules, as in the repo.
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    await writeExampleData('orders', path.join(dir, 'data'), 3000);
    const flow = await loadFlow(path.join(dir, 'flow.yaml'));
    const samples = {
      web: await readSample(path.join(dir, 'data/web-orders.jsonl'), 500),
      pos: await readSample(path.join(dir, 'data/pos-sales.jsonl'), 500),
    };
    const groups = planGroups(flow.template);
    const calibration = await calibrateOnEngine(flow, {
      samples,
      groups,
      provider,
      recordsPerPass: 2000,
    });

    expect(calibration.warm_passes).toBe(2);
    expect(calibration.records_per_pass).toEqual({ web: 2000, pos: 2000 });
    for (const fn of ['from_web', 'from_pos', 'revenue', 'tax', 'post']) {
      const node = calibration.nodes[fn];
      expect(node.records_in, fn).toBeGreaterThan(0);
      expect(node.warm_cpu_us_per_record, fn).toBeGreaterThan(0);
      expect(node.warm_cpu_us_per_record, fn).toBeLessThan(10_000);
    }
    expect(calibration.nodes.from_web.records_in).toBe(2000);
    expect(calibration.nodes.post.keys).toBeGreaterThan(0);
    expect(calibration.groups).toHaveLength(1);
    expect(calibration.groups[0].threads).toBeGreaterThanOrEqual(1);
    // A real process: tens of MiB at least, and far below its limit.
    expect(calibration.groups[0].peak_rss_bytes).toBeGreaterThan(30 * 2 ** 20);
    expect(calibration.groups[0].peak_rss_bytes).toBeLessThan(2 * 2 ** 30);
    // The flow's ledger (sqlite, ./out/ledger.db) was never written: calibration used a temp copy.
    expect(existsSync(path.join(dir, 'out/ledger.db'))).toBe(false);
    // Its resources are gone.
    expect(await provider.list({ template: 'orders' })).toEqual([]);

    // The predictor takes the engine's figures: CPU per record and the resource's base.
    const dcp = await profile(path.join(dir, 'data/web-orders.jsonl'));
    const dcps = { web: dcp, pos: await profile(path.join(dir, 'data/pos-sales.jsonl')) };
    const result = await predict({
      flow,
      dcp,
      dcps,
      groups,
      calibrate: false,
      engineCalibration: calibration,
    });
    const revenue = result.nodes.find((n) => n.node_id === 'revenue')!;
    expect(revenue.cpu_us_per_record).toBeCloseTo(
      calibration.nodes.revenue.warm_cpu_us_per_record,
      6,
    );
    const total = result.nodes.reduce((s, n) => s + n.memory.total, 0);
    expect(total).toBeGreaterThanOrEqual(0.9 * calibration.groups[0].peak_rss_bytes);
  }, 90_000);

  it('refuses a flow whose stream has no sample', async () => {
    const flow = await loadFlow(path.join(repo, 'examples/orders/flow.yaml'));
    await expect(
      calibrateOnEngine(flow, {
        samples: { web: [{ id: 1 }] },
        groups: planGroups(flow.template),
        provider,
      }),
    ).rejects.toThrow(/no sample of stream "pos"/);
  });
});
