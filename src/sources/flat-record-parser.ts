/**
 * A parser for JSON records compiled per record shape, as simdjson's On-Demand and Jackson's
 * Afterburner do for known layouts: most lines of a JSONL file repeat the same keys in the
 * same order with the same separators, so the bytes between the values are checked as
 * constants and the object is built by one literal with fixed keys. `JSON.parse` finds the
 * keys, allocates a growing property list and walks map transitions for every record; this
 * costs a few byte compares. A shape's values are strings, numbers, booleans, null, arrays of
 * those, and nested objects of such values (their keys and braces are part of the constant
 * bytes, the literal nests as the record does).
 *
 * It parses only what it can prove to mean what `JSON.parse` means, and gives up (returns
 * `undefined`) on anything else — an array of arrays or objects, an escape in a string, any
 * byte it does not expect — so the caller parses that line with
 * `JSON.parse`, which gives the value or the error. Input is the bytes of UTF-8 lines with the
 * same bytes decoded as Latin-1 (one character per byte, so byte and character offsets agree):
 * an ASCII string value is cut from that text, one with other bytes is decoded from its own
 * bytes as UTF-8 — the same characters the line's decoding gives there, invalid sequences
 * included, since a string's bytes lie between two ASCII quotes, which end any sequence.
 *
 * Numbers follow JSON's grammar exactly. One whose digits, read as an integer `m`, stay
 * below 2^53, with at most 22 after the point and no exponent, is `m / 10^frac`: both exact
 * doubles, so the quotient is the correctly rounded value `JSON.parse` gives (Clinger's fast
 * path). Any other (more digits, an exponent) is converted by `Number` from its text, V8's
 * same correctly rounded conversion (checked against `JSON.parse` on millions of texts).
 *
 * Shapes come from the data: a line no compiled shape takes is scanned for its own shape; a
 * compilable one is compiled (`new Function` over its keys, each written as a JSON string
 * literal, so no key can be code). At most {@link MAX_SHAPES} are kept (the oldest not among
 * the last used goes first), and compiling spends a token: {@link MAX_SHAPES} to start with,
 * one more every {@link LINES_PER_COMPILE} lines, so hostile input of ever-new shapes costs a
 * compile per thousand lines at most, and a long-lived thread still compiles the shapes of the
 * next file it reads. Keys that an object literal would treat differently from `JSON.parse`
 * (`__proto__`), array-index keys (ordered first by both, but not worth proving) and keys
 * needing escapes are never compiled.
 */

/** Shapes one parser keeps compiled, and compiles at once from a standing start. */
export const MAX_SHAPES = 32;
/** Lines parsed (or tried) that earn one more compile. */
export const LINES_PER_COMPILE = 1024;
/** Keys of a compiled shape at most; wider records go to `JSON.parse`. */
export const MAX_SHAPE_KEYS = 64;
/** Compiled shapes tried, most recent first, before a line's own shape is scanned. */
const TRIED = 4;
/** Lines in a row of no compilable shape before scanning pauses (for 64 lines, doubling). */
const MISSES_BEFORE_PAUSE = 8;
/**
 * The longest pause: such data is then scanned for 8 lines in 4,096, and the next file a
 * thread reads is parsed by `JSON.parse` for at most this many lines before its shape is seen.
 */
const MAX_PAUSE_LINES = 4096;

/** Parses the record at `bytes[at]` (below `limit`); `undefined` when the shape does not fit. */
type ShapeFn = (bytes: Buffer, text: string, at: number, limit: number) => object | undefined;

interface Shape {
  parse: ShapeFn;
  /** Where the last record parsed ended (just after its `}`). */
  end: () => number;
}

/**
 * The value reader shared by every compiled shape; `pos` is the compiled closure's cursor.
 * An ASCII string of 13 characters or more (V8's shortest sliced string) is not cut from the
 * piece's text, which a slice would keep alive as long as the record (a record kept in state
 * would hold 16 KiB): it is marked `LONG` and cut at the record's end from the record's own
 * text, so a kept value holds at most its record's bytes, as `JSON.parse`'s copies would.
 */
const VALUE = `
function value(b, t, end) {
  const p = pos;
  const c = b[p];
  if (c === 34) {
    let i = p + 1;
    let wide = false;
    for (; i < end; i++) {
      const x = b[i];
      if (x === 34) break;
      if (x === 92 || x < 32) return undefined;
      if (x > 127) wide = true;
    }
    if (i >= end) return undefined;
    pos = i + 1;
    if (wide) return b.toString('utf8', p + 1, i);
    if (i - p - 1 < 13) return t.slice(p + 1, i);
    longFrom[longs] = p + 1;
    longTo[longs++] = i;
    return LONG;
  }
  let i = p;
  let x = c;
  const negative = x === 45;
  if (negative) x = b[++i];
  if (x >= 48 && x <= 57) {
    let m = 0;
    if (x === 48) {
      x = b[++i];
      if (x >= 48 && x <= 57) return undefined;
    } else
      while (x >= 48 && x <= 57) {
        m = m * 10 + (x - 48);
        x = b[++i];
      }
    let frac = 0;
    if (x === 46) {
      x = b[++i];
      while (x >= 48 && x <= 57) {
        m = m * 10 + (x - 48);
        frac++;
        x = b[++i];
      }
      if (frac === 0) return undefined;
    }
    let exact = m < 9007199254740992 && frac <= 22;
    if (x === 101 || x === 69) {
      x = b[++i];
      if (x === 43 || x === 45) x = b[++i];
      if (!(x >= 48 && x <= 57)) return undefined;
      while (x >= 48 && x <= 57) x = b[++i];
      exact = false;
    }
    pos = i;
    if (!exact) return +t.slice(p, i);
    const v = frac === 0 ? m : m / POW10[frac];
    return negative ? -v : v;
  }
  if (negative) return undefined;
  if (c === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
    pos = p + 4;
    return true;
  }
  if (c === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
    pos = p + 5;
    return false;
  }
  if (c === 110 && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
    pos = p + 4;
    return null;
  }
  return undefined;
}`;

const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** A record's layout: each key's value is a slot (its number) or a nested object's layout. */
export type ShapeTree = Array<[string, number | ShapeTree]>;

/**
 * The shape of a record: its layout and the exact bytes around its values (`glues[k]`
 * precedes slot k, keys and nested objects' braces included; the last glue ends with the
 * record's `}`). A slot holds a string, number, boolean, null or an array of those.
 */
export interface RecordShape {
  tree: ShapeTree;
  glues: Uint8Array[];
}

/** Nested objects a compiled shape may hold, one inside another. */
const MAX_SHAPE_DEPTH = 16;

const JSON_BLANK = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

/** A byte of a number or literal (`-+.`, digits, letters); the compiled parser checks again. */
const isTokenByte = (c: number): boolean =>
  c === 0x2d ||
  c === 0x2b ||
  c === 0x2e ||
  (c >= 0x30 && c <= 0x39) ||
  ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);

/**
 * The shape of the record at `bytes[at, end)` (the line without its newline), or null when
 * the line is not an object of compilable keys whose values are primitives, arrays of
 * primitives or such objects. Values are skipped by their grammar loosely — whatever is
 * accepted here is checked again by the compiled parser.
 */
export function scanShape(bytes: Uint8Array, at: number, end: number): RecordShape | null {
  const glues: Uint8Array[] = [];
  let glueFrom = at;
  let i = at;
  let keys = 0;
  const blanks = (): void => {
    while (i < end && JSON_BLANK(bytes[i])) i++;
  };
  /** Skips a string without escapes at `i`; false when it is not one. */
  const string = (): boolean => {
    i++;
    while (i < end && bytes[i] !== 0x22) {
      if (bytes[i] === 0x5c) return false;
      i++;
    }
    if (i >= end) return false;
    i++;
    return true;
  };
  /** Skips a primitive or an array of primitives at `i`; false when it is neither. */
  const value = (): boolean => {
    const c = bytes[i];
    if (c === 0x22) return string();
    if (c === 0x5b) {
      i++;
      while (i < end && bytes[i] !== 0x5d) {
        const x = bytes[i];
        if (x === 0x5b || x === 0x7b) return false;
        if (x === 0x22) {
          if (!string()) return false;
        } else i++;
      }
      if (i >= end) return false;
      i++;
      return true;
    }
    const from = i;
    while (i < end && isTokenByte(bytes[i])) i++;
    return i > from;
  };
  const object = (depth: number): ShapeTree | null => {
    if (bytes[i] !== 0x7b || depth > MAX_SHAPE_DEPTH) return null;
    i++;
    blanks();
    const tree: ShapeTree = [];
    if (bytes[i] === 0x7d) {
      i++;
      return tree;
    }
    const seen = new Set<string>();
    for (;;) {
      if (bytes[i] !== 0x22) return null;
      const keyFrom = ++i;
      while (i < end && bytes[i] !== 0x22) {
        const c = bytes[i];
        if (c === 0x5c || c < 0x20 || c > 0x7e) return null;
        i++;
      }
      if (i >= end) return null;
      const key = String.fromCharCode(...bytes.subarray(keyFrom, i));
      i++;
      if (key === '__proto__' || /^(0|[1-9][0-9]*)$/.test(key) || seen.has(key)) return null;
      if (++keys > MAX_SHAPE_KEYS) return null;
      seen.add(key);
      blanks();
      if (bytes[i] !== 0x3a) return null;
      i++;
      blanks();
      if (bytes[i] === 0x7b) {
        const nested = object(depth + 1);
        if (nested === null) return null;
        tree.push([key, nested]);
      } else {
        glues.push(bytes.slice(glueFrom, i));
        tree.push([key, glues.length - 1]);
        if (!value()) return null;
        glueFrom = i;
      }
      blanks();
      if (bytes[i] === 0x2c) {
        i++;
        blanks();
        continue;
      }
      if (bytes[i] !== 0x7d) return null;
      i++;
      return tree;
    }
  };
  const tree = object(0);
  if (tree === null || i !== end) return null;
  glues.push(bytes.slice(glueFrom, end));
  return { tree, glues };
}

/**
 * Reads an array of primitives at `pos` (its `[`); blanks between elements as JSON allows.
 * A long string element is copied from the bytes at once (it is not patched at the record's
 * end as a slot is).
 */
const ARRAY = `
function array(b, t, end) {
  let p = pos + 1;
  const out = [];
  while (b[p] === 32 || b[p] === 9 || b[p] === 13) p++;
  if (b[p] === 93) {
    pos = p + 1;
    return out;
  }
  for (;;) {
    pos = p;
    let v = value(b, t, end);
    if (v === undefined) return undefined;
    if (v === LONG) {
      longs--;
      v = b.toString('latin1', longFrom[longs], longTo[longs]);
    }
    out.push(v);
    p = pos;
    while (b[p] === 32 || b[p] === 9 || b[p] === 13) p++;
    if (b[p] === 44) {
      p++;
      while (b[p] === 32 || b[p] === 9 || b[p] === 13) p++;
      continue;
    }
    if (b[p] !== 93) return undefined;
    pos = p + 1;
    return out;
  }
}`;

/** The object literal of a layout, slot k as `v<k>`, keys as JSON string literals. */
function literal(tree: ShapeTree): string {
  const fields = tree.map(
    ([key, node]) =>
      `${JSON.stringify(key)}: ${typeof node === 'number' ? `v${node}` : literal(node)}`,
  );
  return `{ ${fields.join(', ')} }`;
}

/** The source of a shape's parser: glue compares, one value read per slot, one literal. */
function shapeSource(shape: RecordShape): string {
  const slots = shape.glues.length - 1;
  const lines = [
    'let pos = 0;',
    'let longs = 0;',
    'const longFrom = [];',
    'const longTo = [];',
    'const LONG = {};',
    VALUE,
    ARRAY,
    'function parse(b, t, p, end) {',
    '  const at = p;',
    '  longs = 0;',
  ];
  const glueCheck = (glue: Uint8Array): string =>
    Array.from(glue, (byte, k) => `b[p + ${k}] !== ${byte}`).join(' || ');
  for (let k = 0; k < slots; k++) {
    const glue = shape.glues[k];
    lines.push(`  if (${glueCheck(glue)}) return undefined;`);
    lines.push(`  pos = p + ${glue.length};`);
    lines.push(`  let v${k} = b[pos] === 91 ? array(b, t, end) : value(b, t, end);`);
    lines.push(`  if (v${k} === undefined) return undefined;`);
    lines.push('  p = pos;');
  }
  const last = shape.glues[slots];
  lines.push(`  if (${glueCheck(last)}) return undefined;`);
  lines.push(`  pos = p + ${last.length};`);
  lines.push(`  if (pos > end) return undefined;`);
  lines.push(
    '  if (longs > 0) {',
    "    const own = b.toString('latin1', at, pos);",
    '    let k = 0;',
  );
  for (let k = 0; k < slots; k++)
    lines.push(`    if (v${k} === LONG) v${k} = own.slice(longFrom[k] - at, longTo[k++] - at);`);
  lines.push('  }');
  lines.push(`  return ${literal(shape.tree)};`, '}', 'return { parse, end: () => pos };');
  return lines.join('\n');
}

/** Compiles a shape; null where the runtime forbids code generation from strings. */
function compile(shape: RecordShape): Shape | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- keys are JSON string literals; see the file's comment
    return new Function('POW10', shapeSource(shape))(POW10) as Shape;
  } catch {
    return null;
  }
}

/** The key a shape is cached under: its glues, which hold its keys. */
function shapeKey(shape: RecordShape): string {
  return shape.glues.map((g) => String.fromCharCode(...g)).join('\u0000');
}

/**
 * Parses records of the shapes it has seen; one per thread, kept across chunks so a
 * file's shape is compiled once.
 *
 * ```ts
 * const parser = new FlatRecordParser();
 * const bytes = Buffer.from('{"user":"u1","cents":250}\n');
 * const text = bytes.toString('latin1');
 * parser.parse(bytes, text, 0, bytes.length); // { user: 'u1', cents: 250 }
 * parser.end; // 25: the newline after it
 * ```
 */
export class FlatRecordParser {
  /** Compiled shapes by their glues, oldest first; null where compiling failed. */
  readonly #compiled = new Map<string, Shape | null>();
  /** Most recently used first, at most {@link TRIED}. */
  readonly #recent: Shape[] = [];
  #end = 0;
  #lines = 0;
  #taken = 0;
  #tokens = MAX_SHAPES;
  #linesAtTokens = 0;
  // Data of no compilable shape (arrays of objects, escapes) misses line after line: after a
  // few misses in a row, lines are not scanned for a shape (the compiled ones are still
  // tried) for a pause that doubles, up to MAX_PAUSE_LINES.
  #misses = 0;
  #pause = MISSES_BEFORE_PAUSE * 8;
  #scanFrom = 0;

  /** Shapes compiled and kept. */
  get shapes(): number {
    return this.#compiled.size;
  }

  /** Records this parser has taken (the rest went to `JSON.parse`). */
  get taken(): number {
    return this.#taken;
  }

  /** Where the last record parsed ended: just after its `}`. */
  get end(): number {
    return this.#end;
  }

  /**
   * Counts `lines` parsed without this parser (a piece whose first line had no compilable
   * shape, parsed whole by `JSON.parse`): pauses and tokens are measured in lines, not calls.
   */
  passed(lines: number): void {
    this.#lines += lines;
  }

  /**
   * The record starting at `bytes[at]` (below `limit`; `text` is the same bytes decoded as
   * Latin-1, index for index), or `undefined` when it is not one this parser can prove: parse
   * the line with `JSON.parse`. The record may be followed by anything: the caller checks that
   * its line ends at {@link FlatRecordParser.end}. A line no recent shape takes is scanned for
   * its own shape, which needs its newline (or `limit`).
   */
  parse(bytes: Buffer, text: string, at: number, limit: number): object | undefined {
    this.#lines++;
    const recent = this.#recent;
    for (let k = 0; k < recent.length; k++) {
      const shape = recent[k];
      const record = shape.parse(bytes, text, at, limit);
      if (record !== undefined) {
        if (k > 0) {
          recent.splice(k, 1);
          recent.unshift(shape);
        }
        this.#end = shape.end();
        this.#taken++;
        return record;
      }
    }
    if (this.#lines < this.#scanFrom) return undefined;
    const shape = this.#shapeOf(bytes, at, limit);
    if (shape === null) return undefined;
    if (!recent.includes(shape)) {
      recent.unshift(shape);
      if (recent.length > TRIED) recent.pop();
    }
    const record = shape.parse(bytes, text, at, limit);
    if (record === undefined) return undefined;
    this.#end = shape.end();
    this.#taken++;
    return record;
  }

  /** The compiled shape of the line at `at`: found, compiled now, or null (none; no token). */
  #shapeOf(bytes: Uint8Array, at: number, limit: number): Shape | null {
    let lineEnd = at;
    while (lineEnd < limit && bytes[lineEnd] !== 10) lineEnd++;
    if (lineEnd > at && bytes[lineEnd - 1] === 13) lineEnd--;
    const found = scanShape(bytes, at, lineEnd);
    if (found === null) {
      if (++this.#misses >= MISSES_BEFORE_PAUSE) {
        this.#misses = 0;
        this.#scanFrom = this.#lines + this.#pause;
        this.#pause = Math.min(MAX_PAUSE_LINES, this.#pause * 2);
      }
      return null;
    }
    this.#misses = 0;
    this.#pause = MISSES_BEFORE_PAUSE * 8;
    const key = shapeKey(found);
    const known = this.#compiled.get(key);
    if (known !== undefined) return known;
    this.#tokens = Math.min(
      MAX_SHAPES,
      this.#tokens + (this.#lines - this.#linesAtTokens) / LINES_PER_COMPILE,
    );
    this.#linesAtTokens = this.#lines;
    if (this.#tokens < 1) return null;
    this.#tokens--;
    if (this.#compiled.size >= MAX_SHAPES) {
      // The oldest compiled shape goes, unless it is one of the few used last.
      for (const [glues, shape] of this.#compiled)
        if (shape === null || !this.#recent.includes(shape)) {
          this.#compiled.delete(glues);
          break;
        }
    }
    const shape = compile(found);
    this.#compiled.set(key, shape);
    return shape;
  }
}
