import type { FunctionContext } from '../../../src/index.js';
import type { Order, Product } from './types.js';

/**
 * VAT in percent by country, and the reduced rate for food and books. Countries not
 * listed (the US here) charge no VAT.
 */
export const VAT: Record<string, { standard: number; reduced: number }> = {
  DE: { standard: 19, reduced: 7 },
  FR: { standard: 20, reduced: 5.5 },
  NL: { standard: 21, reduced: 9 },
};

/** A line of an order with its product and its net amount (after discount, rounded to the cent). */
export interface PricedLine {
  index: number;
  product: Product;
  net_cents: number;
}

/**
 * Looks every line's product up in the catalogue (the `Product` input type, in the
 * `catalog` store keyed by sku) and prices it: `round(unit_price × qty × (100 − discount) / 100)`.
 * An unknown sku is an error: the order cannot be booked.
 */
export async function priceLines(order: Order, ctx: FunctionContext): Promise<PricedLine[]> {
  return Promise.all(
    order.lines.map(async (line, index) => {
      const product = await ctx.lookup<Product>('Product', line.sku);
      if (product === undefined)
        throw new Error(`order ${order.order_id}: unknown sku ${line.sku}`);
      const net_cents = Math.round(
        (product.unit_price_cents * line.qty * (100 - order.discount_pct)) / 100,
      );
      return { index, product, net_cents };
    }),
  );
}

/** VAT on a net amount, rounded to the cent; 0 where the country charges none. */
export function vatCents(
  country: string,
  category: Product['category'],
  net_cents: number,
): number {
  const rates = VAT[country];
  if (rates === undefined) return 0;
  const rate = category === 'food' || category === 'books' ? rates.reduced : rates.standard;
  return Math.round((net_cents * rate) / 100);
}
