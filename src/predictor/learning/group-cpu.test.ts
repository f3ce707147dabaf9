import { describe, expect, it } from 'vitest';
import { defaultFunctionModel } from '../model/defaults.js';
import { cpuUsPerRecord, cpuUsPerRecordOverRun } from '../model/function-model.js';
import { learnGroupCpu, type GroupMember } from './group-cpu.js';
import type { FunctionObservation } from './past-runs.js';
import { decayWeights } from './robust-fit.js';

const SIZES = [18_000, 14_000, 10_000, 7_000, 4_000]; // newest first
const observation = (run: number, node: string, records: number, cpuUs: number) =>
  ({
    execution_id: `run-${run}`,
    template: 't',
    node_id: node,
    function_fingerprint: null,
    recorded_at: new Date(Date.UTC(2026, 0, 10 - run)).toISOString(),
    records_in: records,
    records_out: records,
    avg_record_size: 100,
    records_per_second: 1000,
    key_cardinality: null,
    cpu_us_per_record: cpuUs / records,
    peak_memory_bytes: 50e6,
    cpu_cores: 1,
    memory_gb: 1,
    oom_killed: false,
  }) satisfies FunctionObservation;

/** Two nodes whose runs together cost 40·records^0.8 µs, split by `shareOfA(run)`. */
function members(shareOfA: (run: number) => number, runs = SIZES.length): GroupMember[] {
  const total = (n: number) => 40 * (2 * n) ** 0.8;
  const ids = ['a', 'b'];
  return ids.map((id) => ({
    id,
    model: { ...defaultFunctionModel(), basis: 'history' as const, notes: [] },
    prior: defaultFunctionModel(),
    own: SIZES.slice(0, runs).map((n, r) =>
      observation(r, id, n, total(n) * (id === 'a' ? shareOfA(r) : 1 - shareOfA(r))),
    ),
    runRecords: 48_000,
    recordSize: 100,
  }));
}

const overRun = (m: GroupMember) => cpuUsPerRecordOverRun(m.model, m.recordSize, m.runRecords);

describe('learnGroupCpu', () => {
  it("reads the group's power law at this run's length and keeps each node's share", () => {
    const group = members(() => 0.25);
    expect(learnGroupCpu(group)).toBe(true);
    const expected = 40 * (2 * 48_000) ** 0.8;
    const [a, b] = group.map((m) => overRun(m) * m.runRecords);
    expect((a + b) / expected).toBeCloseTo(1, 3);
    expect(a / (a + b)).toBeCloseTo(0.25, 3);
    // The model is the law's tangent: warm µs per record = exponent × CPU per record.
    expect(group[0].model.cpu_fixed_us / a).toBeCloseTo(0.2, 3);
  });

  it('pools each node’s share over the runs when their split scatters', () => {
    const shares = [0.1, 0.4, 0.2, 0.45, 0.05];
    const group = members((r) => shares[r]);
    learnGroupCpu(group);
    const ws = decayWeights(SIZES.length);
    const total = (n: number) => 40 * (2 * n) ** 0.8;
    const pooled =
      SIZES.reduce((t, n, r) => t + ws[r] * total(n) * shares[r], 0) /
      SIZES.reduce((t, n, r) => t + ws[r] * total(n), 0);
    const [a, b] = group.map((m) => overRun(m));
    expect(a / (a + b)).toBeCloseTo(pooled, 3);
  });

  it('leaves the models alone with fewer than three runs of the whole group', () => {
    const group = members(() => 0.25, 2);
    const before = group.map((m) => ({ ...m.model }));
    expect(learnGroupCpu(group)).toBe(false);
    expect(group.map((m) => m.model)).toEqual(before);
  });
});

describe('learnGroupCpu with a calibration', () => {
  const shares = [0.1, 0.4, 0.2, 0.45, 0.05];
  /** Scattered splits, so history is unsure per node, and a calibration at `level` × the truth. */
  function calibrated(level: number): GroupMember[] {
    return members((r) => shares[r]).map((m) => ({
      ...m,
      // The law's CPU per record at the predicted length, half each node's.
      prior: {
        ...defaultFunctionModel(),
        cpu_us_base: level * 0.5 * ((40 * (2 * 48_000) ** 0.8) / (2 * 48_000)),
        cpu_us_per_byte: 0,
        cpu_fixed_us: 0,
        cpu_rel_error: 0.25,
        basis: 'calibration' as const,
      },
    }));
  }
  const total = (group: GroupMember[]) =>
    group.reduce((t, m) => t + overRun(m) * m.runRecords, 0) / (40 * (2 * 48_000) ** 0.8);

  it('lets a calibration that every past run contradicts count less', () => {
    // Half of what every run measured: the runs show it missed by ×2, so history's total holds.
    const half = calibrated(0.5);
    learnGroupCpu(half);
    expect(total(half)).toBeGreaterThan(0.85);
    expect(half[0].model.notes.join(' ')).toMatch(/missed the group's past runs/);
  });

  it('still leans on a calibration that agrees with the runs', () => {
    const right = calibrated(1.2);
    learnGroupCpu(right);
    expect(total(right)).toBeGreaterThan(1);
    expect(total(right)).toBeLessThan(1.2);
  });

  it('gives a node whose own runs put all its CPU in the one-off cost its share of the warm cost', () => {
    const group = members(() => 0.25);
    group[0].model = { ...group[0].model, cpu_us_base: 0, cpu_us_per_byte: 0, cpu_fixed_us: 1e6 };
    expect(learnGroupCpu(group)).toBe(true);
    const [a, b] = group.map((m) => overRun(m) * m.runRecords);
    expect(a / (a + b)).toBeCloseTo(0.25, 3);
    expect(cpuUsPerRecord(group[0].model, 100)).toBeGreaterThan(0);
  });
});
