/**
 * Idle times (minutes between invocation minutes) of one unit, or pooled over many:
 * exact values, since periodic units (timers) repeat one idle time and a window of one
 * minute at exactly that time wastes nothing.
 */
export class IdleHistogram {
  /** Distinct idle times, ascending. */
  readonly values: number[] = [];
  /** Weight of each value. */
  readonly weights: number[] = [];
  total = 0;
  /** Idle times added (unweighted). */
  count = 0;
  /** How often an idle time was the largest / smallest so far (novelty, for the tails). */
  newHighs = 0;
  newLows = 0;

  add(idle: number, weight = 1): void {
    const values = this.values;
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] < idle) lo = mid + 1;
      else hi = mid;
    }
    if (lo === values.length && values[lo - 1] !== idle) this.newHighs++;
    if (lo === 0 && values[0] !== idle) this.newLows++;
    this.count++;
    if (values[lo] === idle) this.weights[lo] += weight;
    else {
      values.splice(lo, 0, idle);
      this.weights.splice(lo, 0, weight);
    }
    this.total += weight;
  }

  /** Multiplies every weight by `factor` (recency: older idle times count less). */
  decay(factor: number): void {
    for (let i = 0; i < this.weights.length; i++) this.weights[i] *= factor;
    this.total *= factor;
  }
}

/** Where the unseen idle times may fall, relative to the largest / smallest seen. */
const HIGH_TAIL = [1.5, 2, 3, 5, 8, 13, 21, 34, 55];
const HIGH_TAIL_MINUTES = [60, 120, 240];
const LOW_TAIL = [0.75, 0.5, 0];

/**
 * The histogram with pseudo idle times past the ends of what was seen: the chance that
 * the next idle time is a new largest (smallest) one is estimated from how often that
 * happened so far (records: (r + 1) / (n + 1)), spread log-uniformly beyond the largest
 * (below the smallest), so a window may reach for idle times not seen yet when the
 * price of a loaded minute is low enough.
 */
export function withTails(h: IdleHistogram, strength: number, jitter = 0): IdleHistogram {
  const out = new IdleHistogram();
  if (h.values.length === 0) return out;
  for (let i = 0; i < h.values.length; i++) {
    out.values.push(h.values[i]);
    out.weights.push(h.weights[i]);
  }
  out.total = h.total;
  if (jitter > 0) {
    // Minute bins jitter a regular rhythm by ±1 minute.
    for (let i = 0; i < h.values.length; i++) {
      out.add(h.values[i] + 1, jitter * h.weights[i]);
      if (h.values[i] > 0) out.add(h.values[i] - 1, jitter * h.weights[i]);
    }
  }
  const max = h.values[h.values.length - 1];
  const min = h.values[0];
  const high = (strength * h.total * (h.newHighs + 1)) / (h.count + 1) / HIGH_TAIL.length;
  for (const f of HIGH_TAIL) out.add(Math.ceil((max + 1) * f), high);
  // …and at the hour scale, where timers and daily jobs sit whatever the rhythm so far.
  for (const m of HIGH_TAIL_MINUTES) if (m > max) out.add(m, high);
  if (min > 0) {
    const low = (strength * h.total * (h.newLows + 1)) / (h.count + 1) / LOW_TAIL.length;
    for (const f of LOW_TAIL) out.add(Math.floor(min * f), low);
  }
  return out;
}

/** A window over idle times: warm iff pre ≤ idle ≤ end; its expected hits and waste. */
export interface WindowScore {
  pre: number;
  end: number;
  /** Weight of idle times it serves warm. */
  hits: number;
  /** Idle loaded minutes it costs (weighted): idle − pre for hits, end − pre + 1 past the end. */
  waste: number;
}

/**
 * The window maximising hits − price × waste over the histogram (price: cold starts one
 * loaded-idle minute is worth), or undefined when no window pays (stay cold). Windows
 * start and end at observed idle times: anything else wastes more for the same hits.
 * `maxEnd` bounds the end (a budget); `extraEnds` adds ends to consider.
 */
export function bestWindow(
  h: IdleHistogram,
  price: number,
  maxSpan = Infinity,
): WindowScore | undefined {
  const { values, weights, total } = h;
  const k = values.length;
  let best: WindowScore | undefined;
  let bestScore = 0;
  let before = 0;
  for (let i = 0; i < k; i++) {
    const pre = values[i];
    let hits = 0;
    let inside = 0;
    for (let j = i; j < k; j++) {
      const span = values[j] - pre + 1;
      if (span > maxSpan) break;
      hits += weights[j];
      inside += weights[j] * (values[j] - pre);
      const after = total - before - hits;
      const waste = inside + span * after;
      const score = hits - price * waste;
      if (score > bestScore + 1e-12) {
        bestScore = score;
        best = { pre, end: values[j], hits, waste };
      }
    }
    before += weights[i];
  }
  return best;
}
