import type { FunctionContext } from '../../../src/index.js';
import { priceLines } from './pricing.js';
import type { LedgerEntry, Order } from './types.js';

/** One entry per line: its net amount to account `revenue:<category>` (flat-map). */
export async function revenue(order: Order, ctx: FunctionContext): Promise<LedgerEntry[]> {
  const lines = await priceLines(order, ctx);
  return lines.map(({ index, product, net_cents }) => ({
    entry_id: `${order.order_id}:${index}:rev`,
    order_id: order.order_id,
    account: `revenue:${product.category}`,
    amount_cents: net_cents,
  }));
}
