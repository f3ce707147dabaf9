import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestCalibration } from '../../src/history/record-run.js';
import { openHistory } from '../../src/history/open-history.js';
import { colocatedShare } from '../../src/predictor/learning/history-context.js';
import type { EngineCalibration } from '../../src/predictor/calibration/engine-calibration.js';
import { tempDir } from '../execute/run-helpers.js';
import { makeRun, node } from './fixtures.js';

const calibration: EngineCalibration = {
  warm_passes: 2,
  records_per_pass: { clicks: 10_000 },
  nodes: {
    parse: {
      records_in: 10_000,
      records_out: 9_990,
      warm_cpu_us_per_record: 3.2,
      cold_extra_cpu_us: 40_000,
      keys: 0,
    },
  },
  groups: [{ node_ids: ['source:clicks', 'parse'], threads: 2, peak_rss_bytes: 150 * 2 ** 20 }],
};

describe('a run keeps the engine calibration it was predicted with', () => {
  it('latestCalibration finds the newest run that calibrated, past newer runs that did not', async () => {
    const history = await openHistory(path.join(tempDir('warmflow-history-'), 'h.db'));
    try {
      expect(await latestCalibration(history, 'default', 'clicks', 'fp-clicks')).toBeUndefined();
      await history.record(
        { ...makeRun('e1', 'default', 'clicks', '2026-11-27T10:00:00Z'), calibration },
        [],
      );
      await history.record(makeRun('e2', 'default', 'clicks', '2026-11-27T11:00:00Z'), []);
      expect(await latestCalibration(history, 'default', 'clicks', 'fp-clicks')).toEqual(
        calibration,
      );
      expect(await latestCalibration(history, 'other', 'clicks', 'fp-clicks')).toBeUndefined();
      // A flow of another shape that only shares the name does not take it.
      expect(await latestCalibration(history, 'default', 'clicks', 'fp-other')).toBeUndefined();
    } finally {
      await history.close();
    }
  });

  it('splits a shared resource peak evenly over its function nodes, whatever RPRs they ran on', () => {
    const run = makeRun('e3', 'default', 'clicks', '2026-11-27T12:00:00Z');
    run.status.nodes = [
      node('source:clicks', 'source', { resource_id: 'r1' }),
      node('parse', 'function', { resource_id: 'r1' }),
      node('count', 'function', {
        resource_id: 'r1',
        rpr: {
          node_id: 'count',
          resource_type: 'CPU',
          cpu_cores: 1,
          memory_gb: 4,
          gpu_enabled: false,
          data_store_instance: null,
        },
      }),
    ];
    expect(colocatedShare(run, 'parse')).toBe(0.5);
    expect(colocatedShare(run, 'count')).toBe(0.5);
    run.status.nodes[1].resource_id = 'r2';
    expect(colocatedShare(run, 'parse')).toBe(1);
  });
});
