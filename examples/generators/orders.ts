import { Prng, type GeneratedFile } from './prng.js';

/** Start of the simulated trading day (2026-11-02T08:00:00Z). */
const START = Date.UTC(2026, 10, 2, 8);
const CATEGORIES = ['food', 'books', 'electronics', 'apparel'] as const;
const WEB_COUNTRIES = ['DE', 'DE', 'FR', 'NL', 'US'];
/** Shops of the point-of-sale stream and the country each is in. */
const SHOPS: Array<[string, string]> = [
  ['S01', 'DE'],
  ['S02', 'DE'],
  ['S03', 'FR'],
  ['S04', 'NL'],
];
const PRODUCTS = 60;

const sku = (n: number) => `SKU-${String(n).padStart(4, '0')}`;

/** The catalogue: 60 products in four categories with prices from 0.99 to 499.00. */
function* products(seed: number): Generator<string> {
  const rng = new Prng(seed ^ 0xca7);
  for (let n = 1; n <= PRODUCTS; n++) {
    const category = CATEGORIES[(n - 1) % CATEGORIES.length];
    const [lo, hi] = {
      food: [99, 1_999],
      books: [599, 4_999],
      electronics: [1_999, 49_900],
      apparel: [999, 12_999],
    }[category];
    yield JSON.stringify({
      sku: sku(n),
      name: `${category} item ${n}`,
      category,
      unit_price_cents: rng.int(lo, hi),
    });
  }
}

/**
 * Web shop orders: 1–4 lines each, one in eight with the coupon WELCOME10 (10 % off),
 * one in a hundred with no lines at all (`from_web` drops those), a few lines with
 * quantity 0 (dropped line by line).
 */
function* webOrders(count: number, seed: number): Generator<string> {
  const rng = new Prng(seed);
  let ts = START;
  for (let n = 1; n <= count; n++) {
    ts += 1_000 + Math.round(rng.exponential(20_000));
    const lines = n % 100 === 50 ? 0 : rng.int(1, 4);
    const items = Array.from({ length: lines }, () => ({
      sku: sku(rng.int(1, PRODUCTS)),
      qty: rng.chance(0.03) ? 0 : rng.int(1, 3),
    }));
    yield JSON.stringify({
      order_id: `W${String(n).padStart(6, '0')}`,
      ts,
      customer_id: `c${String(rng.int(1, 800)).padStart(4, '0')}`,
      country: rng.pick(WEB_COUNTRIES),
      coupon: rng.chance(0.125) ? 'WELCOME10' : null,
      items,
    });
  }
}

/** Point-of-sale lines: one product per sale; about 2 % are returns (negative quantity), dropped. */
function* posSales(count: number, seed: number): Generator<string> {
  const rng = new Prng(seed ^ 0x905);
  let ts = START;
  for (let n = 1; n <= count; n++) {
    ts += 500 + Math.round(rng.exponential(12_000));
    const [shop, country] = rng.pick(SHOPS);
    yield JSON.stringify({
      sale_id: `P-${shop}-${String(n).padStart(6, '0')}`,
      store_id: shop,
      ts,
      sku: sku(rng.int(1, PRODUCTS)),
      qty: rng.chance(0.02) ? -1 : rng.int(1, 5),
      country,
    });
  }
}

/** The orders example's files; `records` is split 40 % web orders, 60 % point-of-sale lines. */
export function ordersFiles(records: number, seed = 11): GeneratedFile[] {
  const web = Math.round(records * 0.4);
  return [
    { name: 'web-orders.jsonl', lines: { [Symbol.iterator]: () => webOrders(web, seed) } },
    { name: 'pos-sales.jsonl', lines: { [Symbol.iterator]: () => posSales(records - web, seed) } },
    { name: 'products.jsonl', lines: { [Symbol.iterator]: () => products(seed) } },
  ];
}
