/**
 * Small robust statistics for learning from few, noisy runs: a weighted median and
 * a Huber regression line by iteratively reweighted least squares. A single run that
 * was disturbed (a noisy neighbour, a cold JIT) must not drag the coefficients.
 */

/** The weighted median of `values` (weights ≥ 0); NaN when empty. */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  const pairs = values.map((v, i) => [v, weights[i] ?? 0] as const).filter(([, w]) => w > 0);
  if (pairs.length === 0) return Number.NaN;
  pairs.sort((a, b) => a[0] - b[0]);
  const half = pairs.reduce((s, [, w]) => s + w, 0) / 2;
  let acc = 0;
  for (let i = 0; i < pairs.length; i++) {
    acc += pairs[i][1];
    if (acc > half + 1e-12) return pairs[i][0];
    if (Math.abs(acc - half) <= 1e-12) return (pairs[i][0] + pairs[i + 1][0]) / 2;
  }
  return pairs[pairs.length - 1][0];
}

/**
 * Weights for observations ordered newest first: 1 for the newest, halving every
 * `halfLife` runs, so the model follows code and data that change over time.
 */
export function decayWeights(count: number, halfLife = 5): number[] {
  return Array.from({ length: count }, (_, i) => 0.5 ** (i / halfLife));
}

/** A fitted line `y = a + b x` with the robust scale of its residuals. */
export interface LineFit {
  a: number;
  b: number;
  /** 1.4826 × weighted median absolute residual (≈ σ for normal noise). */
  scale: number;
}

/**
 * Huber regression of `ys` on `xs` with prior weights `ws` (IRLS, k = 1.345 × scale).
 * `minSlope` clamps the slope (costs never fall with size or keys).
 */
export function huberLine(
  xs: readonly number[],
  ys: readonly number[],
  ws: readonly number[],
  options: { minSlope?: number; iterations?: number } = {},
): LineFit {
  const minSlope = options.minSlope ?? 0;
  let robust = ws.map(() => 1);
  let fit = weightedLine(xs, ys, ws, minSlope);
  for (let it = 0; it < (options.iterations ?? 20); it++) {
    const residuals = ys.map((y, i) => y - fit.a - fit.b * xs[i]);
    const scale = 1.4826 * weightedMedian(residuals.map(Math.abs), ws);
    if (!(scale > 0)) break;
    const k = 1.345 * scale;
    robust = residuals.map((r) => (Math.abs(r) <= k ? 1 : k / Math.abs(r)));
    const next = weightedLine(
      xs,
      ys,
      ws.map((w, i) => w * robust[i]),
      minSlope,
    );
    const moved = Math.abs(next.a - fit.a) + Math.abs(next.b - fit.b);
    fit = next;
    if (moved < 1e-9 * (1 + Math.abs(fit.a))) break;
  }
  const residuals = ys.map((y, i) => Math.abs(y - fit.a - fit.b * xs[i]));
  return { ...fit, scale: 1.4826 * (weightedMedian(residuals, ws) || 0) };
}

function weightedLine(
  xs: readonly number[],
  ys: readonly number[],
  ws: readonly number[],
  minSlope: number,
): { a: number; b: number } {
  const sw = ws.reduce((s, w) => s + w, 0);
  const mx = xs.reduce((s, x, i) => s + ws[i] * x, 0) / sw;
  const my = ys.reduce((s, y, i) => s + ws[i] * y, 0) / sw;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    sxx += ws[i] * (x - mx) ** 2;
    sxy += ws[i] * (x - mx) * (ys[i] - my);
  });
  const b = sxx > 0 ? Math.max(minSlope, sxy / sxx) : minSlope;
  return { a: my - b * mx, b };
}

/** Relative spread of `xs` ((max − min) / mean), to tell whether a slope can be fitted. */
export function relativeSpread(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return mean > 0 ? (Math.max(...xs) - Math.min(...xs)) / mean : 0;
}
