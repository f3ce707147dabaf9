import {
  defaultMaxRecordBytes,
  recordTooLong,
  type ChunkParser,
  type SourceItem,
} from './source.js';
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
  let start = 0;
  let line = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end === -1) end = buffer.length;
    line++;
    const bytes = end - start + 1;
    if (end > start) {
      let record: unknown;
      try {
        record = JSON.parse(buffer.toString('utf8', start, end));
      } catch (error) {
        onError?.(line, (error as Error).message);
        start = end + 1;
        continue;
      }
      onRecord(record, bytes);
    }
    start = end + 1;
  }
}
