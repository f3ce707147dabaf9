import type { SourceItem } from './source.js';

/** Passes the first `n` records through (and the malformed items met before them), then stops reading. */
export async function* takeFirst(
  batches: AsyncIterable<SourceItem[]>,
  n: number,
): AsyncGenerator<SourceItem[]> {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`sample must be a non-negative integer, got ${n}`);
  let left = n;
  if (left === 0) return;
  for await (const batch of batches) {
    let end = 0;
    while (end < batch.length && left > 0) {
      if (batch[end].error === undefined) left--;
      end++;
    }
    yield end === batch.length ? batch : batch.slice(0, end);
    // Returning ends the for-await, which closes the source (file handle) early.
    if (left === 0) return;
  }
}

/** mulberry32: a small seeded PRNG so a reservoir sample can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A uniform random sample of `n` records over the whole input (Vitter's algorithm R):
 * every record ends up in the sample with probability n / total. Malformed items pass
 * through as they come; the sample is yielded at the end of input, in input order.
 */
export async function* reservoirSample(
  batches: AsyncIterable<SourceItem[]>,
  n: number,
  seed: number = Math.floor(Math.random() * 2 ** 32),
): AsyncGenerator<SourceItem[]> {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`reservoir must be a positive integer, got ${n}`);
  const next = random(seed);
  const reservoir: SourceItem[] = [];
  let seen = 0;
  for await (const batch of batches) {
    const errors: SourceItem[] = [];
    for (const item of batch) {
      if (item.error !== undefined) {
        errors.push(item);
        continue;
      }
      seen++;
      if (reservoir.length < n) reservoir.push(item);
      else {
        const j = Math.floor(next() * seen);
        if (j < n) reservoir[j] = item;
      }
    }
    if (errors.length > 0) yield errors;
  }
  reservoir.sort((a, b) => a.line - b.line);
  for (let i = 0; i < reservoir.length; i += 1024) yield reservoir.slice(i, i + 1024);
}

/** Applies the sampling a read asks for (`sample` first N, else `reservoir` N), else passes all. */
export function sampled(
  batches: AsyncIterable<SourceItem[]>,
  options: { sample?: number; reservoir?: number; seed?: number },
): AsyncIterable<SourceItem[]> {
  if (options.sample !== undefined) return takeFirst(batches, options.sample);
  if (options.reservoir !== undefined)
    return reservoirSample(batches, options.reservoir, options.seed);
  return batches;
}
