/** The statistics bench:predict and its replay report. */

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Three decimals, for the JSON line. */
export const short = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * The 5th and 95th percentiles of `statistic` (default the median) of `xs` resampled with
 * replacement.
 */
export function bootstrap90<T = number>(
  xs: T[],
  statistic: (sample: T[]) => number = median as unknown as (sample: T[]) => number,
): number[] {
  if (xs.length === 0) return [NaN, NaN];
  let seed = 0x2545f491;
  const random = () => {
    // xorshift32: the same resamples on every run of the bench.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const medians = Array.from({ length: 2000 }, () =>
    statistic(xs.map(() => xs[Math.floor(random() * xs.length)])),
  ).sort((a, b) => a - b);
  return [medians[Math.floor(0.05 * medians.length)], medians[Math.floor(0.95 * medians.length)]];
}
