import { StringDecoder } from 'node:string_decoder';
import {
  defaultMaxRecordBytes,
  recordTooLong,
  type ChunkParser,
  type SourceItem,
} from './source.js';

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const FLOAT = /^-?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** The one type a CSV/TSV column gets. */
export type ColumnType = 'string' | 'integer' | 'float' | 'boolean';

/** Column name → its type; a column not named stays strings. */
export type ColumnTypes = Map<string, ColumnType>;

/**
 * What one column's values could all be, narrowed value by value: integers (without
 * leading zeros, which mark identifiers such as zip codes `00501`, and within the safe
 * range), numbers, booleans (`true`/`false` in any case). Empty cells are nulls and
 * narrow nothing.
 */
class ColumnState {
  integer = true;
  number = true;
  boolean = true;
  seen = 0;

  add(cell: string): void {
    if (cell === '') return;
    this.seen++;
    if (this.boolean) {
      const lower = cell.length === 4 || cell.length === 5 ? cell.toLowerCase() : '';
      this.boolean = lower === 'true' || lower === 'false';
    }
    if (!this.number) return;
    if (INTEGER.test(cell)) {
      // An integer beyond 2^53 (an identifier) would lose digits as a number.
      if (!Number.isSafeInteger(Number(cell))) this.integer = this.number = false;
    } else {
      this.integer = false;
      if (!FLOAT.test(cell)) this.number = false;
    }
  }

  type(): ColumnType {
    if (this.seen === 0) return 'string';
    if (this.integer) return 'integer';
    if (this.number) return 'float';
    if (this.boolean) return 'boolean';
    return 'string';
  }
}

/** A declared field type as the column type CSV values are converted to. */
function declaredColumn(type: string): ColumnType {
  if (type === 'integer') return 'integer';
  if (type === 'float' || type === 'number') return 'float';
  if (type === 'boolean') return 'boolean';
  return 'string';
}

/**
 * Decides each column's one type from the records of `batches` (string cells, as
 * {@link CsvParser} gives them): a column is a number, integer or boolean only when every
 * value in it is one, so `0E0` in a column of airport codes, `00501` among zip codes and a
 * town called `TRUE` stay strings. Declared `fields` win over what the values suggest.
 */
export async function decideColumnTypes(
  batches: AsyncIterable<SourceItem[]>,
  fields: Record<string, string> | undefined,
  limit: number,
): Promise<ColumnTypes> {
  const states = new Map<string, ColumnState>();
  let count = 0;
  outer: for await (const batch of batches) {
    for (const item of batch) {
      if (item.error !== undefined) continue;
      if (count++ >= limit) break outer;
      const record = item.record as Record<string, string>;
      for (const key in record) {
        let state = states.get(key);
        if (state === undefined) states.set(key, (state = new ColumnState()));
        state.add(record[key]);
      }
    }
  }
  const types: ColumnTypes = new Map();
  for (const [key, state] of states) types.set(key, state.type());
  for (const [key, type] of Object.entries(fields ?? {})) types.set(key, declaredColumn(type));
  return types;
}

const ARTICLE: Record<ColumnType, string> = {
  integer: 'an integer',
  float: 'a number',
  boolean: 'a boolean',
  string: 'a string',
};

function convert(cell: string, type: ColumnType | undefined): unknown {
  if (cell === '') return null;
  switch (type) {
    case 'integer': {
      const n = INTEGER.test(cell) ? Number(cell) : NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'float':
      return FLOAT.test(cell) || INTEGER.test(cell) ? Number(cell) : undefined;
    case 'boolean': {
      const lower = cell.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : undefined;
    }
    default:
      return cell;
  }
}

/**
 * Converts the string cells of CSV records to their column's type. A value that does not
 * fit its column (possible only for a declared type, or past the records that decided)
 * makes the record a malformed item that says which field and why, so it is reported and
 * dead-lettered rather than changed.
 */
export function typeColumns(batch: readonly SourceItem[], types: ColumnTypes): SourceItem[] {
  const out: SourceItem[] = new Array<SourceItem>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const item = batch[i];
    if (item.error !== undefined) {
      out[i] = item;
      continue;
    }
    const raw = item.record as Record<string, string>;
    const record: Record<string, unknown> = {};
    let bad: string | undefined;
    for (const key in raw) {
      const type = types.get(key);
      const value = convert(raw[key], type);
      if (value === undefined) {
        bad = `field "${key}" is ${ARTICLE[type ?? 'string']} column, got ${JSON.stringify(raw[key])}`;
        break;
      }
      record[key] = value;
    }
    out[i] =
      bad === undefined ? { ...item, record } : { error: bad, line: item.line, bytes: item.bytes };
  }
  return out;
}

/** Splits one CSV record (RFC 4180 quoting, quotes doubled inside quoted cells). */
export function splitCsvRecord(text: string, delimiter: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      let cell = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return undefined;
        cell += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) {
          cell += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      cells.push(cell);
      const next = text.indexOf(delimiter, j);
      if (next === -1) return cells;
      i = next + 1;
    } else {
      const next = text.indexOf(delimiter, i);
      if (next === -1) {
        cells.push(text.slice(i));
        return cells;
      }
      cells.push(text.slice(i, next));
      i = next + 1;
    }
  }
}

function countQuotes(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n++;
  return n;
}

/**
 * CSV (or TSV) with a header row; cells come out as strings ({@link typeColumns} types
 * them by column). Records may span lines inside quoted cells; a row
 * with more cells than the header, or an unterminated quote, is reported as malformed
 * with the line it starts on; a row with fewer cells leaves the rest absent.
 */
export class CsvParser implements ChunkParser {
  readonly #delimiter: string;
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxRecordBytes: number;
  /** Pieces of the physical line in progress, joined once its newline arrives (linear time). */
  #text: string[] = [];
  #textLength = 0;
  #header: string[] | undefined;
  #line = 0;
  /** A record whose quoted cell continues on the next line. */
  #pending = '';
  #pendingLine = 0;
  #pendingQuotes = 0;

  constructor(delimiter = ',', maxRecordBytes = defaultMaxRecordBytes()) {
    this.#delimiter = delimiter;
    this.#maxRecordBytes = maxRecordBytes;
  }

  push(chunk: Buffer, out: SourceItem[]): void {
    const text = this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end === -1) break;
      let line = text.slice(start, end);
      if (this.#text.length > 0) {
        this.#text.push(line);
        line = this.#text.join('');
        this.#text = [];
        this.#textLength = 0;
      }
      this.#physicalLine(line, out);
      start = end + 1;
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.#textLength += rest.length;
      if (this.#textLength + this.#pending.length > this.#maxRecordBytes)
        throw recordTooLong(this.#line + 1, this.#maxRecordBytes);
      this.#text.push(rest);
    }
  }

  end(out: SourceItem[]): void {
    const text = this.#text.join('') + this.#decoder.end();
    this.#text = [];
    this.#textLength = 0;
    if (text.length > 0) this.#physicalLine(text, out);
    if (this.#pending !== '') {
      out.push({
        error: 'unterminated quoted cell',
        line: this.#pendingLine,
        bytes: Buffer.byteLength(this.#pending),
      });
      this.#pending = '';
    }
  }

  #physicalLine(raw: string, out: SourceItem[]): void {
    this.#line++;
    const quotes = countQuotes(raw);
    if (this.#pending !== '' || this.#pendingQuotes % 2 === 1) {
      // A quoted cell left open makes one record of everything after it: bounded too.
      if (this.#pending.length + raw.length > this.#maxRecordBytes)
        throw recordTooLong(this.#pendingLine, this.#maxRecordBytes);
      this.#pending += '\n' + raw;
      this.#pendingQuotes += quotes;
    } else {
      this.#pending = raw;
      this.#pendingLine = this.#line;
      this.#pendingQuotes = quotes;
    }
    if (this.#pendingQuotes % 2 === 1) return;
    const text = this.#pending.endsWith('\r') ? this.#pending.slice(0, -1) : this.#pending;
    const line = this.#pendingLine;
    this.#pending = '';
    this.#pendingQuotes = 0;
    this.#record(text, line, out);
  }

  #record(text: string, line: number, out: SourceItem[]): void {
    if (text.trim() === '') return;
    const bytes = Buffer.byteLength(text) + 1;
    const cells = splitCsvRecord(text, this.#delimiter);
    if (cells === undefined) {
      out.push({ error: 'malformed quoted cell', line, bytes });
      return;
    }
    const header = this.#header;
    if (header === undefined) {
      this.#header = cells.map((name, i) => (name.trim() === '' ? `column_${i + 1}` : name.trim()));
      return;
    }
    if (cells.length > header.length) {
      out.push({
        error: `row has ${cells.length} cells, the header has ${header.length}`,
        line,
        bytes,
      });
      return;
    }
    const record: Record<string, unknown> = {};
    for (let i = 0; i < cells.length; i++) record[header[i]] = cells[i];
    out.push({ record, line, bytes });
  }
}
