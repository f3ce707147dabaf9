import { StringDecoder } from 'node:string_decoder';
import {
  defaultMaxRecordBytes,
  recordTooLong,
  type ChunkParser,
  type SourceItem,
} from './source-item.js';

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const FLOAT = /^-?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Types a CSV cell by its content: empty → null, integers (without leading zeros,
 * which mark identifiers such as zip codes) and floats → numbers, true/false →
 * booleans. Dates stay strings, as JSON would carry them; the profiler recognises them.
 */
export function typeCell(cell: string): unknown {
  if (cell === '') return null;
  const c = cell.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
    if (INTEGER.test(cell)) {
      const n = Number(cell);
      return Number.isSafeInteger(n) ? n : cell;
    }
    if (FLOAT.test(cell)) return Number(cell);
    return cell;
  }
  if (cell.length === 4 && cell.toLowerCase() === 'true') return true;
  if (cell.length === 5 && cell.toLowerCase() === 'false') return false;
  return cell;
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
 * CSV (or TSV) with a header row. Records may span lines inside quoted cells; a row
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
    for (let i = 0; i < cells.length; i++) record[header[i]] = typeCell(cells[i]);
    out.push({ record, line, bytes });
  }
}
