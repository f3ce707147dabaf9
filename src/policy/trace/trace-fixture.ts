import type { Trace } from './load-trace.js';
import { sliceMinutes } from './slice-trace.js';

/**
 * Builds an in-memory trace from dense per-minute counts, one row per function
 * (for tests and examples): `traceOf([[1, 0, 2]], [100])`.
 */
export function traceOf(
  rows: readonly (readonly number[])[],
  memoryMb: readonly number[],
  triggers?: readonly string[],
): Trace {
  const minutes = rows.reduce((m, r) => Math.max(m, r.length), 0);
  return {
    functions: rows.map((row, i) => {
      const at: number[] = [];
      const counts: number[] = [];
      row.forEach((c, t) => {
        if (c > 0) {
          at.push(t);
          counts.push(c);
        }
      });
      return {
        id: `f${i}`,
        app: `a${i}`,
        owner: 'o',
        trigger: triggers?.[i],
        memoryMb: memoryMb[i],
        memorySource: 'function' as const,
        minutes: Int32Array.from(at),
        counts: Float64Array.from(counts),
      };
    }),
    minutes,
    minuteLabels: Array.from({ length: minutes }, (_, t) => String(t + 1)),
    medianMemoryMb: 0,
  };
}

/** The first `n` minutes of a trace, as if the file ended there (functions kept). */
export function truncateTrace(trace: Trace, n: number): Trace {
  const cut = sliceMinutes(trace, 0, n);
  const kept = new Map(cut.functions.map((f) => [f.id, f]));
  return {
    ...cut,
    functions: trace.functions.map(
      (f) => kept.get(f.id) ?? { ...f, minutes: new Int32Array(0), counts: new Float64Array(0) },
    ),
  };
}
