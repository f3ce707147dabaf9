import {
  defaultMaxRecordBytes,
  recordTooLong,
  type ChunkParser,
  type SourceItem,
} from './source.js';
import { FlatRecordParser } from './flat-record-parser.js';
import { MAX_RECORD_DEPTH, nestsDeeperThan, tooDeepMessage } from './json-depth.js';

/**
 * JSON Lines: scans each Buffer for newlines with `indexOf(10)` and parses every line
 * straight from its byte range (PERFORMANCE.md: faster than `toString().split('\n')`).
 * A line cut by a chunk boundary is carried over; blank lines are skipped; `\r\n` is
 * accepted; a line that is not JSON becomes an item with `error` and its line number.
 * The pieces of a line spanning many chunks are kept in a list and joined once, when
 * its newline arrives, so a long line costs what its bytes cost (joining at every chunk
 * was quadratic); a line longer than `maxRecordBytes` ends the read with
 * `E_RECORD_TOO_LONG`.
 */
export class JsonlParser implements ChunkParser {
  readonly #maxRecordBytes: number;
  readonly #keepText: boolean;
  #carry: Buffer[] = [];
  #carryBytes = 0;
  #line = 0;
  readonly #flat = new FlatRecordParser();

  /** `keepText`: each item also holds its line's text (`SourceItem.text`). */
  constructor(maxRecordBytes = defaultMaxRecordBytes(), keepText = false) {
    this.#maxRecordBytes = maxRecordBytes;
    this.#keepText = keepText;
  }

  push(chunk: Buffer, out: SourceItem[]): void {
    let start = 0;
    let end = chunk.indexOf(10);
    if (end === -1) {
      this.#hold(chunk);
      return;
    }
    if (this.#carry.length > 0) {
      this.#hold(chunk.subarray(0, end));
      const line = Buffer.concat(this.#carry, this.#carryBytes);
      this.#carry = [];
      this.#carryBytes = 0;
      this.#emit(line, 0, line.length, line.length + 1, out);
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    if (end !== -1 && !this.#keepText) {
      // The chunk's whole lines: records of a known layout through the shape-compiled parser.
      const last = chunk.lastIndexOf(10) + 1;
      scanFlatLines(
        this.#flat,
        chunk,
        start,
        last,
        (record, from, to) => {
          if (to - from > this.#maxRecordBytes)
            throw recordTooLong(this.#line + 1, this.#maxRecordBytes);
          out.push({ record, line: ++this.#line, bytes: to - from + 1 });
        },
        (from, to) => {
          if (to - from > this.#maxRecordBytes)
            throw recordTooLong(this.#line + 1, this.#maxRecordBytes);
          this.#emit(chunk, from, to, to - from + 1, out);
        },
      );
      start = last;
      end = -1;
    }
    while (end !== -1) {
      if (end - start > this.#maxRecordBytes)
        throw recordTooLong(this.#line + 1, this.#maxRecordBytes);
      this.#emit(chunk, start, end, end - start + 1, out);
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.#hold(chunk.subarray(start));
  }

  end(out: SourceItem[]): void {
    if (this.#carryBytes === 0) return;
    const line = Buffer.concat(this.#carry, this.#carryBytes);
    this.#carry = [];
    this.#carryBytes = 0;
    this.#emit(line, 0, line.length, line.length, out);
  }

  #hold(piece: Buffer): void {
    this.#carryBytes += piece.length;
    if (this.#carryBytes > this.#maxRecordBytes)
      throw recordTooLong(this.#line + 1, this.#maxRecordBytes);
    this.#carry.push(piece);
  }

  #emit(buffer: Buffer, start: number, end: number, bytes: number, out: SourceItem[]): void {
    const line = ++this.#line;
    if (end > start && buffer[end - 1] === 13) end--;
    // Skip blank lines without decoding them.
    let first = start;
    while (first < end && (buffer[first] === 32 || buffer[first] === 9)) first++;
    if (first === end) return;
    if (nestsDeeperThan(buffer, start, end, MAX_RECORD_DEPTH)) {
      out.push({ error: tooDeepMessage(MAX_RECORD_DEPTH), line, bytes });
      return;
    }
    const text = buffer.toString('utf8', start, end);
    try {
      const record: unknown = JSON.parse(text);
      out.push(this.#keepText ? { record, text, line, bytes } : { record, line, bytes });
    } catch (error) {
      out.push({ error: (error as Error).message, line, bytes });
    }
  }
}

/** Bytes decoded to Latin-1 at a time for the shape-compiled parser (out of large-object space). */
const PIECE_BYTES = 16 * 1024;

/**
 * The lines of `buffer[from, to)` (`to` just after a newline, or the buffer's end): each flat
 * record the parser takes goes to `onRecord(record, lineStart, newlineAt)`, every other line —
 * blank, nested, malformed — to `onLine(lineStart, newlineAt)` for `JSON.parse`. The bytes are
 * decoded to Latin-1 a piece of whole lines at a time, for the parser's ASCII strings.
 */
export function scanFlatLines(
  parser: FlatRecordParser,
  buffer: Buffer,
  from: number,
  to: number,
  onRecord: (record: object, lineStart: number, newlineAt: number) => void,
  onLine: (lineStart: number, newlineAt: number) => void,
): void {
  while (from < to) {
    let pieceEnd = to;
    if (to - from > PIECE_BYTES) {
      const nl = buffer.lastIndexOf(10, from + PIECE_BYTES - 1);
      pieceEnd =
        nl >= from ? nl + 1 : Math.min(to, buffer.indexOf(10, from + PIECE_BYTES) + 1 || to);
    }
    const bytes = buffer.subarray(from, pieceEnd);
    const text = buffer.toString('latin1', from, pieceEnd);
    const limit = bytes.length;
    let at = 0;
    while (at < limit) {
      const record = parser.parse(bytes, text, at, limit);
      if (record !== undefined) {
        let e = parser.end;
        if (bytes[e] === 13 && (e + 1 === limit || bytes[e + 1] === 10)) e++;
        if (e >= limit || bytes[e] === 10) {
          onRecord(record, from + at, from + e);
          at = e + 1;
          continue;
        }
      }
      let nl = bytes.indexOf(10, at);
      if (nl < 0) nl = limit;
      onLine(from + at, from + nl);
      at = nl + 1;
    }
    from = pieceEnd;
  }
}

/**
 * Splits a whole in-memory JSONL buffer and parses it, calling `onRecord` per line:
 * the same scan as {@link JsonlParser} without building items, for benchmarks and
 * callers that hold the data already.
 */
export function scanJsonl(
  buffer: Buffer,
  onRecord: (record: unknown, bytes: number) => void,
  onError?: (line: number, error: string) => void,
): void {
  let line = 0;
  const blankOrParse = (start: number, end: number): void => {
    line++;
    if (end <= start) return;
    let record: unknown;
    try {
      record = JSON.parse(buffer.toString('utf8', start, end));
    } catch (error) {
      onError?.(line, (error as Error).message);
      return;
    }
    onRecord(record, end - start + 1);
  };
  scanFlatLines(
    new FlatRecordParser(),
    buffer,
    0,
    buffer.length,
    (record, start, end) => {
      line++;
      onRecord(record, end - start + 1);
    },
    blankOrParse,
  );
}
