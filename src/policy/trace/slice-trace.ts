import type { Trace } from './load-trace.js';

/** Minutes [from, to) of a trace, renumbered from 0: a held-out stretch of time. */
export function sliceMinutes(trace: Trace, from: number, to = trace.minutes): Trace {
  const end = Math.min(to, trace.minutes);
  return {
    ...trace,
    minutes: Math.max(0, end - from),
    minuteLabels: trace.minuteLabels.slice(from, end),
    functions: trace.functions
      .map((f) => {
        const keep: number[] = [];
        for (let k = 0; k < f.minutes.length; k++) {
          if (f.minutes[k] >= from && f.minutes[k] < end) keep.push(k);
        }
        return {
          ...f,
          minutes: Int32Array.from(keep, (k) => f.minutes[k] - from),
          counts: Float64Array.from(keep, (k) => f.counts[k]),
        };
      })
      .filter((f) => f.minutes.length > 0),
  };
}

/** The functions of a trace `keep` accepts: a held-out set of functions or apps. */
export function filterFunctions(
  trace: Trace,
  keep: (f: Trace['functions'][number]) => boolean,
): Trace {
  return { ...trace, functions: trace.functions.filter(keep) };
}
