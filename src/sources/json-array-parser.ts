import { JsonlParser } from './jsonl-parser.js';
import {
  defaultMaxRecordBytes,
  recordTooLong,
  type ChunkParser,
  type SourceItem,
} from './source.js';
import { MAX_RECORD_DEPTH, nestsDeeperThan, tooDeepMessage } from './json-depth.js';

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * A JSON array file read element by element, so a large array never has to sit in
 * memory whole: a byte-level scanner tracks strings and nesting depth and hands each
 * top-level element's bytes to `JSON.parse`. A malformed element is reported by its
 * element number (`line` is the 1-based element index for this format). A file whose
 * first non-blank byte is not `[` is read as JSON Lines instead.
 */
export class JsonArrayParser implements ChunkParser {
  #mode: 'start' | 'array' | 'done' | 'lines' = 'start';
  #lines: JsonlParser | undefined;
  #depth = 0;
  #inString = false;
  #escape = false;
  /** Bytes of the element in progress that arrived in earlier chunks. */
  #carry: Buffer[] = [];
  #carryBytes = 0;
  #inElement = false;
  #index = 0;
  readonly #maxRecordBytes: number;

  constructor(maxRecordBytes = defaultMaxRecordBytes()) {
    this.#maxRecordBytes = maxRecordBytes;
  }

  push(chunk: Buffer, out: SourceItem[]): void {
    let i = 0;
    if (this.#mode === 'start') {
      while (i < chunk.length && isSpace(chunk[i])) i++;
      if (i === chunk.length) return;
      if (chunk[i] !== 0x5b) {
        this.#mode = 'lines';
        this.#lines = new JsonlParser(this.#maxRecordBytes);
      } else {
        this.#mode = 'array';
        this.#depth = 1;
        i++;
      }
    }
    if (this.#mode === 'lines') {
      this.#lines!.push(i === 0 ? chunk : chunk.subarray(i), out);
      return;
    }
    if (this.#mode === 'done') return;
    this.#scan(chunk, i, out);
  }

  #scan(chunk: Buffer, from: number, out: SourceItem[]): void {
    let start = this.#inElement ? from : -1;
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i];
      if (inString) {
        if (escape) escape = false;
        else if (b === BACKSLASH) escape = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (depth === 1 && (b === 0x2c || b === 0x5d)) {
        // ',' or the closing ']' ends the element in progress.
        if (start !== -1 || this.#carry.length > 0)
          this.#emit(chunk, start === -1 ? i : start, i, out);
        start = -1;
        this.#inElement = false;
        if (b === 0x5d) {
          this.#mode = 'done';
          this.#carry = [];
          this.#carryBytes = 0;
          return;
        }
        continue;
      }
      if (start === -1 && depth === 1 && !isSpace(b)) {
        start = i;
        this.#inElement = true;
      }
      if (b === QUOTE) inString = true;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) depth--;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
    if (start !== -1) {
      this.#carryBytes += chunk.length - start;
      if (this.#carryBytes > this.#maxRecordBytes)
        throw recordTooLong(this.#index + 1, this.#maxRecordBytes);
      this.#carry.push(Buffer.from(chunk.subarray(start)));
    }
  }

  #emit(chunk: Buffer, start: number, end: number, out: SourceItem[]): void {
    let bytes: Buffer = chunk.subarray(start, end);
    if (this.#carry.length > 0) {
      bytes = Buffer.concat([...this.#carry, bytes]);
      this.#carry = [];
      this.#carryBytes = 0;
    }
    const line = ++this.#index;
    if (nestsDeeperThan(bytes, 0, bytes.length, MAX_RECORD_DEPTH)) {
      out.push({ error: tooDeepMessage(MAX_RECORD_DEPTH), line, bytes: bytes.length + 1 });
      return;
    }
    const text = bytes.toString('utf8');
    // Elements separated by ',' carry one separator byte each: count it, as JSONL counts '\n'.
    const size = bytes.length + 1;
    try {
      out.push({ record: JSON.parse(text), line, bytes: size });
    } catch (error) {
      out.push({ error: (error as Error).message, line, bytes: size });
    }
  }

  end(out: SourceItem[]): void {
    if (this.#mode === 'lines') {
      this.#lines!.end(out);
      return;
    }
    if (this.#mode === 'array') {
      // The last element may be whole even though the closing ']' never came.
      if (this.#carry.length > 0) this.#emit(Buffer.alloc(0), 0, 0, out);
      out.push({ error: 'unterminated JSON array (missing "]")', line: this.#index + 1, bytes: 0 });
      this.#mode = 'done';
    }
  }
}

function isSpace(b: number): boolean {
  return b === 32 || b === 10 || b === 13 || b === 9;
}
