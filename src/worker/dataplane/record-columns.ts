import type { ExchangeItem } from './thread-messages.js';

/**
 * A column as it crosses: every value a 32-bit integer — an `Int32Array`; every value a
 * number — a `Float64Array` (what a JS number is, -0 and NaN included); every value a string — the strings joined into one `text` with
 * each one's end (UTF-16 units) in `ends`; anything else — the values as they are.
 *
 * A structured clone writes an array element by element, and a string or number column
 * of a few hundred values cost ~0.2 µs a value to clone; one string and one typed array
 * clone as a copy of their bytes.
 */
export type Column = Int32Array | Float64Array | { text: string; ends: Uint32Array } | unknown[];

/**
 * Records of one shape as columns: column `cols[j]` holds the values of `keys[j]`, record
 * by record (`length` records).
 *
 * Records cross between data-plane threads by `postMessage`, whose structured clone walks
 * every object: for the small flat records a keyed exchange carries (`{user, cents}`) that
 * cost ~0.6 µs a record, sender and receiver together. The same records as one string and
 * one typed array per column clone in about a sixth of that, rebuilding the objects included.
 */
export interface Columns {
  keys: string[];
  cols: Column[];
  length: number;
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
  return { keys, cols: cols.map(encodeColumn), length: recs.length };
}

/** The longest joined text of a string column (V8's strings end below 2^29 units). */
const MAX_TEXT = 2 ** 28;

/** A column's values in the form that clones cheapest (see {@link Column}). */
function encodeColumn(values: unknown[]): Column {
  const n = values.length;
  const first = typeof values[0];
  if (first === 'number') {
    const numbers = new Float64Array(n);
    let integers = true;
    for (let i = 0; i < n; i++) {
      const value = values[i];
      if (typeof value !== 'number') return values;
      numbers[i] = value;
      if ((value | 0) !== value || Object.is(value, -0)) integers = false;
    }
    // Integers come back as V8's small integers, as the records' own fields held them: a
    // float column read back would make every record of the shape hold its numbers boxed,
    // the records the flow's functions build themselves included.
    return integers ? Int32Array.from(numbers) : numbers;
  }
  if (first === 'string') {
    const ends = new Uint32Array(n);
    let end = 0;
    for (let i = 0; i < n; i++) {
      const value = values[i];
      if (typeof value !== 'string') return values;
      end += value.length;
      // Past V8's longest string (2^29 - 24 units) the join would throw: such a column
      // goes as it is.
      if (end > MAX_TEXT) return values;
      ends[i] = end;
    }
    return { text: (values as string[]).join(''), ends };
  }
  return values;
}

/** The values of an encoded column, one by one. */
function decodeColumn(column: Column, n: number): ArrayLike<unknown> {
  if (column instanceof Float64Array || column instanceof Int32Array || Array.isArray(column))
    return column;
  const { text, ends } = column;
  const values = new Array<string>(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i];
    values[i] = text.slice(at, end);
    at = end;
  }
  return values;
}

/** The records of {@link toColumns}' columns. */
export function fromColumns(columns: Columns): unknown[] {
  const build = builderFor(columns);
  if (build !== null) return build(columns.cols, columns.length);
  const { keys, length: n } = columns;
  const cols = columns.cols.map((column) => decodeColumn(column, n));
  const width = keys.length;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const record: Record<string, unknown> = {};
    for (let j = 0; j < width; j++) record[keys[j]] = cols[j][i];
    out[i] = record;
  }
  return out;
}

/** Builds a shape's records from its encoded columns. */
type Builder = (cols: Column[], n: number) => unknown[];

/**
 * Builders compiled per shape (keys and column kinds), per thread. A record built by one
 * object literal costs a fraction of one built key by key (each store a lookup of the key
 * and a step to the next hidden class), and its strings are cut from the column's text as
 * it is built, not first into an array of their own.
 *
 * The keys come from tenant records, so what is compiled is bounded: keys are written into
 * the code as JSON string literals only; at most {@link MAX_BUILDERS} shapes are kept (the
 * oldest dropped), of at most {@link MAX_WIDTH} keys and {@link MAX_KEY_CHARS} characters;
 * a shape is compiled the second time a batch of it arrives, and compiling spends a token
 * (one more per {@link RECORDS_PER_COMPILE} records rebuilt), so records of ever-new shapes
 * are rebuilt key by key rather than paying a compile each.
 */
const builders = new Map<string, Builder | null>();
const MAX_BUILDERS = 32;
const MAX_WIDTH = 64;
const MAX_KEY_CHARS = 4096;
const RECORDS_PER_COMPILE = 1024;
let tokens = MAX_BUILDERS;
/** Shapes seen once, not compiled yet (bounded like the builders). */
const seen = new Set<string>();

/** Builders compiled so far in this thread. */
let compiles = 0;

/** Builders held and compiled so far in this thread (for tests of the bounds). */
export function compiledShapes(): { held: number; compiled: number } {
  let held = 0;
  for (const build of builders.values()) if (build !== null) held++;
  return { held, compiled: compiles };
}

/** An array index as a key: an object orders those first, whatever the literal says. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/** The compiled builder of `columns`' shape; null where it is built key by key. */
function builderFor(columns: Columns): Builder | null {
  const { keys, cols } = columns;
  if (keys.length > MAX_WIDTH) return null;
  let kinds = '';
  for (const column of cols)
    kinds +=
      column instanceof Int32Array
        ? 'i'
        : column instanceof Float64Array
          ? 'n'
          : Array.isArray(column)
            ? 'a'
            : 's';
  const id = kinds + JSON.stringify(keys);
  const cached = builders.get(id);
  if (cached !== undefined) return cached;
  tokens = Math.min(MAX_BUILDERS, tokens + columns.length / RECORDS_PER_COMPILE);
  if (id.length > MAX_KEY_CHARS) return null;
  if (!seen.has(id)) {
    if (seen.size >= MAX_BUILDERS) seen.delete(seen.values().next().value!);
    seen.add(id);
    return null;
  }
  if (tokens < 1) return null;
  tokens--;
  compiles++;
  seen.delete(id);
  const build = keys.some((key) => key === '__proto__' || INDEX_KEY.test(key))
    ? null
    : compileBuilder(keys, kinds);
  if (builders.size >= MAX_BUILDERS) builders.delete(builders.keys().next().value!);
  builders.set(id, build);
  return build;
}

/**
 * `(cols, n) => records`, one object literal a record. Keys are JSON string literals (never
 * code; `__proto__` and index keys are never compiled: a literal would set the prototype or
 * order them first); null where the runtime forbids code generation from strings.
 */
function compileBuilder(keys: readonly string[], kinds: string): Builder | null {
  const lines: string[] = [];
  const fields: string[] = [];
  for (let j = 0; j < keys.length; j++) {
    if (kinds[j] === 's') {
      lines.push(`const t${j} = cols[${j}].text, e${j} = cols[${j}].ends; let a${j} = 0;`);
      fields.push(`${JSON.stringify(keys[j])}: t${j}.slice(a${j}, (a${j} = e${j}[i]))`);
    } else {
      lines.push(`const c${j} = cols[${j}];`);
      fields.push(`${JSON.stringify(keys[j])}: c${j}[i]`);
    }
  }
  // Strings are cut as the literal's fields are evaluated, in order: `a` is the end of the
  // string before, then this one's.
  const source = [
    ...lines,
    'const out = new Array(n);',
    `for (let i = 0; i < n; i++) out[i] = { ${fields.join(', ')} };`,
    'return out;',
  ].join('\n');
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- keys are JSON string literals; see builderFor
    return new Function('cols', 'n', source) as Builder;
  } catch {
    return null;
  }
}

/**
 * Items as they go to another thread: each one's records as columns where they fit, its
 * positions as a `Float64Array`.
 */
export function packItems(items: readonly ExchangeItem[]): ExchangeItem[] {
  return items.map((item) => {
    const columns = item.recs.length === 0 ? null : toColumns(item.recs);
    const positions = Float64Array.from(item.pos);
    return columns === null
      ? { node: item.node, recs: item.recs, pos: [], positions }
      : { node: item.node, recs: [], pos: [], positions, columns };
  });
}

/** Items as another thread sent them, their records rebuilt from columns. */
export function unpackItems(items: ExchangeItem[]): ExchangeItem[] {
  for (const item of items) {
    if (item.columns !== undefined) {
      item.recs = fromColumns(item.columns);
      delete item.columns;
    }
    const positions = item.positions;
    if (positions !== undefined) {
      const pos = new Array<number>(positions.length);
      for (let i = 0; i < positions.length; i++) pos[i] = positions[i];
      item.pos = pos;
      delete item.positions;
    }
  }
  return items;
}
