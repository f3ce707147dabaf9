/** The record types of the orders example. Amounts are integer cents. */

/** An order from the web shop, as it arrives. */
export interface WebOrder {
  order_id: string;
  ts: number;
  customer_id: string;
  country: string;
  coupon: string | null;
  items: Array<{ sku: string; qty: number }>;
}

/** One sale at a shop's till, as it arrives (returns have a negative quantity). */
export interface PosSale {
  sale_id: string;
  store_id: string;
  ts: number;
  sku: string;
  qty: number;
  country: string;
}

/** The catalogue entry of a product, held in the `catalog` store keyed by sku. */
export interface Product {
  sku: string;
  name: string;
  category: 'food' | 'books' | 'electronics' | 'apparel';
  unit_price_cents: number;
}

/** One order, whichever channel it came from. */
export interface Order {
  order_id: string;
  channel: 'web' | 'pos';
  ts: number;
  country: string;
  customer_id: string | null;
  /** Percent off every line. */
  discount_pct: number;
  lines: Array<{ sku: string; qty: number }>;
}

/** One booking: an amount to an account, caused by one line of one order. */
export interface LedgerEntry {
  /** `<order_id>:<line index>:rev` or `:tax` */
  entry_id: string;
  order_id: string;
  account: string;
  amount_cents: number;
}

/** An account's running balance. */
export interface AccountBalance {
  account: string;
  balance_cents: number;
  entries: number;
}
