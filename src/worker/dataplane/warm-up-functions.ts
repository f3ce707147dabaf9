import type { FunctionContext, UserFunction } from '../../template/function-api.js';

/** A record of the warm-up input ({@link warmUpLine}). */
interface WarmUpRecord {
  id: number;
  key: string;
  kind: string;
  amount: number;
}

/**
 * warmflow's own functions for the warm-up flow (never a tenant's: a warm-up run must have no
 * effect outside the resource): a map, a filter and a keyed tally kept in `ctx.state` (a
 * declared name read and written synchronously, another awaited), the
 * shape of most flows, so the data plane's code around functions is compiled and its heap grown.
 */
export const WARM_UP_FUNCTIONS: ReadonlyMap<string, UserFunction> = new Map<string, UserFunction>([
  ['shape', (r: WarmUpRecord) => ({ key: r.key, kind: r.kind, cents: Math.round(r.amount * 100) })],
  ['keep', (r: { kind: string }) => (r.kind === 'refund' ? undefined : r)],
  [
    'tally',
    // Both ways of keyed state: a declared name read and written synchronously, and another
    // awaited.
    async (r: { cents: number }, ctx: FunctionContext) => {
      ctx.state.write('n', (ctx.state.read<number>('n') ?? 0) + 1);
      const total = (await ctx.state.get<number>('total')) ?? 0;
      await ctx.state.set('total', total + r.cents);
      return undefined;
    },
  ],
]);

/** Distinct keys of the warm-up input (a keyed flow's state holds tens of thousands). */
export const WARM_UP_KEYS = 40_000;

/** Line `i` of the warm-up input: ~100 bytes of the mix of values real records hold. */
export function warmUpLine(i: number): string {
  const kinds = ['view', 'cart', 'buy', 'refund'];
  return JSON.stringify({
    id: i,
    key: `k${(i * 7919) % WARM_UP_KEYS}`,
    kind: kinds[i % 4],
    amount: ((i * 31) % 10_000) / 100,
    at: 1_700_000_000_000 + i * 10,
    // Blocks of records of one shape and of records with an array of objects (no shape the
    // parser compiles), so both ways of parsing a piece get compiled.
    ...(Math.floor(i / 10_000) % 2 === 1 ? { tags: [{ t: 'a', n: i % 7 }] } : {}),
    note: i % 3 === 0 ? 'n'.repeat(i % 40) : null,
  });
}
