import { describe, expect, it } from 'vitest';
import { detectDrift } from './drift.js';
import { LiveWindow } from './live-window.js';
import { Profiler } from './profiler.js';

function dcpOf(records: unknown[], ratePerSecond: number, bytes = 50) {
  const p = new Profiler();
  records.forEach((r, i) => p.add(r, bytes, 1_000_000 + (i * 1000) / ratePerSecond));
  return p.snapshot();
}

describe('drift', () => {
  const base = dcpOf(
    Array.from({ length: 1000 }, (_, i) => ({ id: i, user: `u${i % 10}` })),
    100,
  );

  it('reports nothing for the same kind of data', () => {
    const same = dcpOf(
      Array.from({ length: 500 }, (_, i) => ({ id: i, user: `u${i % 10}` })),
      110,
    );
    expect(detectDrift('s', base, same, ['user'])).toEqual([]);
  });

  it('reports rate, record size, new fields and key cardinality with both values', () => {
    const moved = dcpOf(
      Array.from({ length: 500 }, (_, i) => ({ id: i, user: `u${i % 100}`, extra: true })),
      400,
      120,
    );
    const kinds = detectDrift('s', base, moved, ['user']).map((e) => [e.kind, e.baseline, e.live]);
    expect(kinds).toEqual([
      ['rate', expect.closeTo(100, 0), expect.closeTo(400, 0)],
      ['record_size', 50, 120],
      ['new_fields', ['id', 'user'], ['extra']],
      ['cardinality', 10, 100],
    ]);
  });
});

describe('live window', () => {
  it('keeps the last window and everything in the cumulative profile', () => {
    const w = new LiveWindow({ windowMs: 10_000 });
    for (let s = 0; s < 30; s++)
      for (let i = 0; i < 10; i++) {
        w.count(20, s * 1000 + i * 100, s * 1000);
        // Fields of every other message: the volume still counts them all.
        if (i % 2 === 0) w.add({ s }, 20, s * 1000 + i * 100, s * 1000);
      }
    const snap = w.snapshot(29_500);
    expect(snap.cumulative.volume.records).toBe(300);
    expect(snap.window.volume.records).toBe(100);
    expect(snap.window.volume.records_per_second).toBeCloseTo(10, 0);
    expect(snap.window.volume.avg_record_size).toBe(20);
    expect(snap.profiled).toEqual({ window: 50, cumulative: 150 });
    expect(snap.window.cardinality.s).toBe(10);
  });
});
