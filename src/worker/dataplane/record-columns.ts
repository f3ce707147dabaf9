import type { ExchangeItem } from './thread-messages.js';

/**
 * Records of one shape as columns: `cols[j][i]` is the value of `keys[j]` in record `i`.
 *
 * Records cross between data-plane threads by `postMessage`, whose structured clone walks
 * every object: for the small flat records a keyed exchange carries (`{user, cents}`) that
 * costs ~0.5 µs a record, sender and receiver together. The same records as a few arrays of
 * strings and numbers clone in about half that, rebuilding the objects included.
 */
export interface Columns {
  keys: string[];
  cols: unknown[][];
}

/**
 * `recs` as columns when every record is a plain object (prototype `Object.prototype`) with
 * the first record's keys in the same order and only strings, numbers, booleans and nulls
 * as values, and no own `__proto__` key — what structured cloning would copy field by field;
 * null otherwise (the records
 * then travel as they are). The columns rebuild records equal to the clones: the same
 * enumerable own keys in the same order, the same values (-0 and NaN included).
 */
export function toColumns(recs: readonly unknown[]): Columns | null {
  const first = recs[0];
  if (
    first === null ||
    typeof first !== 'object' ||
    Object.getPrototypeOf(first) !== Object.prototype
  )
    return null;
  const keys = Object.keys(first);
  const width = keys.length;
  // An own `__proto__` (JSON.parse makes one) would set the prototype when rebuilt.
  if (width === 0 || keys.includes('__proto__')) return null;
  const cols: unknown[][] = [];
  for (let j = 0; j < width; j++) cols.push(new Array<unknown>(recs.length));
  for (let i = 0; i < recs.length; i++) {
    const record = recs[i];
    if (
      record === null ||
      typeof record !== 'object' ||
      Object.getPrototypeOf(record) !== Object.prototype
    )
      return null;
    let j = 0;
    // `for…in` walks what structured cloning copies, in its order (with Object.prototype
    // as the prototype, nothing inherited is enumerable unless someone made it so: then a
    // key differs from the first record's, and the batch goes as it is).
    for (const key in record) {
      if (j >= width || key !== keys[j]) return null;
      const value = (record as Record<string, unknown>)[key];
      const type = typeof value;
      if (value !== null && type !== 'string' && type !== 'number' && type !== 'boolean')
        return null;
      cols[j][i] = value;
      j++;
    }
    if (j !== width) return null;
  }
  return { keys, cols };
}

/** The records of {@link toColumns}' columns. */
export function fromColumns(columns: Columns): unknown[] {
  const { keys, cols } = columns;
  const n = cols[0].length;
  const width = keys.length;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const record: Record<string, unknown> = {};
    for (let j = 0; j < width; j++) record[keys[j]] = cols[j][i];
    out[i] = record;
  }
  return out;
}

/** Items as they go to another thread: each one's records as columns where they fit. */
export function packItems(items: readonly ExchangeItem[]): ExchangeItem[] {
  return items.map((item) => {
    const columns = item.recs.length === 0 ? null : toColumns(item.recs);
    return columns === null ? item : { node: item.node, recs: [], pos: item.pos, columns };
  });
}

/** Items as another thread sent them, their records rebuilt from columns. */
export function unpackItems(items: ExchangeItem[]): ExchangeItem[] {
  for (const item of items)
    if (item.columns !== undefined) {
      item.recs = fromColumns(item.columns);
      delete item.columns;
    }
  return items;
}
