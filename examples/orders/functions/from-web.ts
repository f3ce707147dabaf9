import type { FunctionContext } from '../../../src/index.js';
import type { Order, WebOrder } from './types.js';

/** Percent off per coupon code; unknown codes give nothing. */
const COUPONS: Record<string, number> = { WELCOME10: 10 };

/**
 * A web order as an {@link Order}: lines with a quantity below 1 are dropped, and an
 * order left without lines is dropped entirely (returns undefined).
 */
export function from_web(order: WebOrder, _ctx: FunctionContext): Order | undefined {
  const lines = order.items.filter((item) => item.qty >= 1).map(({ sku, qty }) => ({ sku, qty }));
  if (lines.length === 0) return undefined;
  return {
    order_id: order.order_id,
    channel: 'web',
    ts: order.ts,
    country: order.country,
    customer_id: order.customer_id,
    discount_pct: (order.coupon !== null && COUPONS[order.coupon]) || 0,
    lines,
  };
}
