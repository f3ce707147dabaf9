import type { FunctionContext } from '../../../src/index.js';
import { priceLines, vatCents } from './pricing.js';
import type { LedgerEntry, Order } from './types.js';

/**
 * One entry per line that bears VAT: the VAT on its net amount to account
 * `tax:<country>` (flat-map; lines without VAT, e.g. US orders, give none, and an
 * order without any gives an empty array).
 */
export async function tax(order: Order, ctx: FunctionContext): Promise<LedgerEntry[]> {
  const lines = await priceLines(order, ctx);
  const entries: LedgerEntry[] = [];
  for (const { index, product, net_cents } of lines) {
    const amount_cents = vatCents(order.country, product.category, net_cents);
    if (amount_cents === 0) continue;
    entries.push({
      entry_id: `${order.order_id}:${index}:tax`,
      order_id: order.order_id,
      account: `tax:${order.country}`,
      amount_cents,
    });
  }
  return entries;
}
