import { describe, expect, it } from 'vitest';
import { inferTemplate } from '../../template/infer-template.js';
import { defaultFunctionModel, ioNodeModel } from '../model/defaults.js';
import type { FunctionModel } from '../model/function-model.js';
import { applyEngineCalibration, type EngineCalibration } from './engine-calibration.js';

const MiB = 2 ** 20;

const template = inferTemplate({
  name: 't',
  streams: { events: { type: 'Event' } },
  functions: [
    { name: 'shape', input: ['Event'], output: ['Shaped'] },
    { name: 'count', input: ['Shaped'], output: ['Tally'], key: 'user' },
  ],
});

function models(): Map<string, FunctionModel> {
  const shape = { ...defaultFunctionModel(), cpu_us_base: 1, cpu_us_per_byte: 0.01 };
  shape.calibration = {
    records: 100,
    errors: 0,
    distinct_keys: 0,
    avg_record_size: 100,
    timed_out: false,
  };
  const count = {
    ...defaultFunctionModel(),
    cpu_us_base: 4,
    cpu_us_per_byte: 0,
    memory_per_key_bytes: 1000,
  };
  count.memory_record_factor = 0;
  shape.memory_record_factor = 0;
  const m = new Map<string, FunctionModel>(
    template.nodes.map((n) => [n.id, ioNodeModel('source')]),
  );
  m.get('source:events')!.memory_record_factor = 0;
  m.set('shape', shape);
  m.set('count', count);
  return m;
}

const calibration: EngineCalibration = {
  warm_passes: 2,
  records_per_pass: { events: 1000 },
  nodes: {
    shape: {
      records_in: 1000,
      records_out: 1000,
      warm_cpu_us_per_record: 6,
      cold_extra_cpu_us: 5000,
      keys: 0,
    },
    count: {
      records_in: 1000,
      records_out: 0,
      warm_cpu_us_per_record: 2,
      cold_extra_cpu_us: 0,
      keys: 200,
    },
  },
  groups: [
    { node_ids: ['source:events', 'shape', 'count'], threads: 2, peak_rss_bytes: 120 * MiB },
  ],
};

describe('applyEngineCalibration', () => {
  it('scales CPU to the engine keeping its shape in record size, and takes the cold pass as the one-off cost', () => {
    const m = models();
    applyEngineCalibration(m, calibration, template, { bufferedRecords: 0, recordSize: () => 100 });
    const shape = m.get('shape')!;
    // 1 + 0.01 * 100 = 2 µs in the sandbox, 6 on the engine: ×3, slope kept.
    expect(shape.cpu_us_base).toBeCloseTo(3);
    expect(shape.cpu_us_per_byte).toBeCloseTo(0.03);
    expect(shape.cpu_fixed_us).toBe(5000);
    expect(shape.basis).toBe('calibration');
    expect(m.get('count')!.cpu_us_base).toBeCloseTo(2);
    expect(m.get('count')!.selectivity).toBe(0);
  });

  it('makes the resource peak, less the state the models explain, the base shared by its nodes', () => {
    const m = models();
    applyEngineCalibration(m, calibration, template, { bufferedRecords: 0, recordSize: () => 100 });
    // 120 MiB peak - 200 keys × 1000 B of state = the base, a third per node.
    const base = (120 * MiB - 200 * 1000) / 3;
    for (const id of ['source:events', 'shape', 'count']) {
      expect(m.get(id)!.memory_base_bytes).toBeCloseTo(base, 0);
      expect(m.get(id)!.memory_shared).toBe(true);
    }
  });

  it('keeps at least a quarter of the peak as base when the models claim more than was measured', () => {
    const m = models();
    m.get('count')!.memory_per_key_bytes = 10 * MiB;
    applyEngineCalibration(m, calibration, template, { bufferedRecords: 0, recordSize: () => 100 });
    expect(m.get('shape')!.memory_base_bytes).toBeCloseTo((0.25 * 120 * MiB) / 3, 0);
  });
});
