import type { FunctionContext } from '../../../src/index.js';
import type { Order, PosSale } from './types.js';

/** A till sale as a one-line {@link Order} (no customer, no discount); returns (qty < 1) are dropped. */
export function from_pos(sale: PosSale, _ctx: FunctionContext): Order | undefined {
  if (sale.qty < 1) return undefined;
  return {
    order_id: sale.sale_id,
    channel: 'pos',
    ts: sale.ts,
    country: sale.country,
    customer_id: null,
    discount_pct: 0,
    lines: [{ sku: sale.sku, qty: sale.qty }],
  };
}
