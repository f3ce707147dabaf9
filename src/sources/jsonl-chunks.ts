import { isAscii } from 'node:buffer';
import { readSync } from 'node:fs';
import { FlatRecordParser } from './flat-record-parser.js';
import { jsonDepth, MAX_RECORD_DEPTH, tooDeepMessage } from './json-depth.js';

/** A malformed line, kept for the dead-letter file. */
export interface BadLine {
  offset: number;
  text: string;
  error: string;
}

/** Records parsed from one chunk, with each record's byte offset in the file. */
export interface ParsedChunk {
  records: unknown[];
  positions: number[];
  bad: BadLine[];
  bytes: number;
}

/** Nominal bytes per chunk: ~3,000 records of ~90 bytes, a good exchange batch. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Chunk size for a file read by `threads` threads: at least 8 chunks per thread so small
 * files are parsed in parallel too and the first records come out after a small chunk,
 * between 16 KiB and {@link CHUNK_BYTES}. Every thread computes the same from the same size.
 */
export function chunkBytesFor(size: number, threads: number): number {
  return Math.max(16 * 1024, Math.min(CHUNK_BYTES, Math.ceil(size / (threads * 8))));
}

/** Bytes per chunk of a file source: what the deploy spec says, else {@link chunkBytesFor}. */
export function sourceChunkBytes(
  source: { chunk_bytes?: number },
  size: number,
  threads: number,
): number {
  return source.chunk_bytes ?? chunkBytesFor(size, threads);
}

/** Number of chunks of a file of `size` bytes. */
export function chunkCount(size: number, chunkBytes = CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

/**
 * One read buffer per thread, reused chunk after chunk: a fresh quarter-megabyte buffer per
 * chunk is a fresh mapping whose pages fault in on every read, which cost more than the
 * copy itself. Safe because a chunk's text is decoded to a string before the next read.
 */
let reusable: Buffer = Buffer.alloc(0);

function scratch(length: number): Buffer {
  if (reusable.length < length) reusable = Buffer.allocUnsafeSlow(length);
  return reusable.subarray(0, length);
}

/**
 * Reads and parses chunk `index` of a JSONL file: every line whose first byte lies in
 * `[index * chunkBytes, (index + 1) * chunkBytes)`. Any thread can find its chunks'
 * line boundaries on its own (a line starts after a newline), so threads split a file
 * by passing nothing but the path and chunk numbers. Reads are synchronous: a data-plane
 * thread is dedicated to its run, and a blocking read costs less than a round trip through
 * libuv's thread pool (which is what a warm run's first record would otherwise wait for).
 */
export function readChunk(
  fd: number,
  size: number,
  index: number,
  chunkBytes = CHUNK_BYTES,
): ParsedChunk {
  const text = readChunkText(fd, size, index, chunkBytes);
  return text === null
    ? { records: [], positions: [], bad: [], bytes: 0 }
    : parseLines(text.buffer, text.start, text.end, text.from);
}

/**
 * The bytes of chunk `index` (see {@link readChunk}), unparsed: its lines are
 * `buffer[start, end)`, and `buffer[0]` is the file's byte `from`. Null when the chunk holds
 * no line. The buffer is reused by the next read of this thread: parse (or copy) it first.
 */
export function readChunkText(
  fd: number,
  size: number,
  index: number,
  chunkBytes = CHUNK_BYTES,
): { buffer: Buffer; start: number; end: number; from: number } | null {
  const nominal = index * chunkBytes;
  const limit = Math.min(size, nominal + chunkBytes);
  if (nominal >= size) return null;
  // Read one byte before the chunk: a line starts at `nominal` only if that byte is a newline.
  const from = Math.max(0, nominal - 1);
  let buffer = scratch(Math.min(size - from, chunkBytes + 1 + 16 * 1024));
  let length = readSync(fd, buffer, 0, buffer.length, from);
  let start = 0;
  if (nominal > 0) {
    const nl = buffer.subarray(0, length).indexOf(10);
    if (nl < 0 || from + nl + 1 >= limit) return null;
    start = nl + 1;
  }
  // Extend until the line that starts last before `limit` is complete.
  const stopAt = limit - from;
  for (;;) {
    const nl = buffer.subarray(0, length).indexOf(10, Math.max(stopAt - 1, start));
    if (nl >= 0 || from + length >= size) break;
    const bigger = Buffer.allocUnsafe(buffer.length * 2);
    buffer.copy(bigger, 0, 0, length);
    const more = readSync(fd, bigger, length, bigger.length - length, from + length);
    buffer = bigger;
    reusable = bigger;
    if (more === 0) break;
    length += more;
  }
  const endNl = buffer.subarray(0, length).indexOf(10, Math.max(stopAt - 1, start));
  const end = endNl < 0 ? length : endNl + 1;
  return end > start ? { buffer, start, end, from } : null;
}

/** The offset just after the `lines`-th newline of `buffer[start, end)` (`end` if there are fewer). */
export function afterLines(buffer: Buffer, start: number, end: number, lines: number): number {
  let at = start;
  for (let n = 0; n < lines; n++) {
    const nl = buffer.indexOf(10, at);
    if (nl < 0 || nl >= end - 1) return end;
    at = nl + 1;
  }
  return at;
}

/**
 * Bytes decoded to a string at a time. V8 puts strings above ~128 KiB in large-object space,
 * a fresh mapping per string: decoding a 256 KiB chunk in one piece runs at ~0.2 GB/s on
 * this machine, in 16 KiB pieces (ending on a newline) at ~5 GB/s (bench/throughput.ts).
 */
const DECODE_BYTES = 16 * 1024;

/** This thread's flat-record parser: a file's shapes are compiled once, not once a chunk. */
const flat = new FlatRecordParser();

/**
 * Splits `buffer[start, end)` into lines and parses each; offsets are file byte offsets.
 * `parser` is the thread's flat-record parser unless a caller keeps its own.
 */
export function parseLines(
  buffer: Buffer,
  start: number,
  end: number,
  fileOffset: number,
  pieceBytes = DECODE_BYTES,
  parser = flat,
): ParsedChunk {
  const chunk: ParsedChunk = { records: [], positions: [], bad: [], bytes: end - start };
  // Each piece's records and offsets, joined once at the end (pushing every record of every
  // piece onto one array regrew it all along).
  const records: unknown[][] = [];
  const positions: number[][] = [];
  let from = start;
  while (from < end) {
    // A piece ends after the last newline within pieceBytes (or the next one, for a long line).
    let to = end;
    if (end - from > pieceBytes) {
      const nl = buffer.lastIndexOf(10, from + pieceBytes - 1);
      if (nl >= from) to = nl + 1;
      else {
        const next = buffer.indexOf(10, from + pieceBytes);
        to = next < 0 || next >= end ? end : next + 1;
      }
    }
    const bytes = buffer.subarray(from, to);
    // The flat parser reads the bytes with their Latin-1 text (one character per byte); the
    // batched parse indexes its text by byte, so only ASCII (invalid UTF-8 can decode to as
    // many characters as bytes and still not be the same characters).
    const ascii = isAscii(bytes);
    const latin1 = buffer.toString('latin1', from, to);
    let piece: { records: unknown[]; positions: number[] } | null = parseFlat(
      parser,
      latin1,
      ascii,
      bytes,
      fileOffset + from,
      chunk.bad,
    );
    if (piece === null) {
      piece = ascii ? parseBatch(latin1, bytes, fileOffset + from) : null;
      if (piece === null) {
        const lines: ParsedChunk = { records: [], positions: [], bad: chunk.bad, bytes: to - from };
        parsePiece(
          lines,
          ascii ? latin1 : buffer.toString('utf8', from, to),
          to - from,
          fileOffset + from,
        );
        piece = lines;
      }
      // The flat parser saw the first line; the others count towards its pauses too.
      parser.passed(Math.max(0, piece.records.length - 1));
    }
    records.push(piece.records);
    positions.push(piece.positions);
    from = to;
  }
  if (records.length === 1) {
    chunk.records = records[0];
    chunk.positions = positions[0];
  } else if (records.length > 1) {
    chunk.records = chunk.records.concat(...records);
    chunk.positions = chunk.positions.concat(...positions);
  }
  return chunk;
}

/**
 * Parses the lines of a piece (`bytes` from file byte `at0`, `text` the same bytes as Latin-1,
 * `ascii` whether they are) with the shape-compiled {@link FlatRecordParser}; a line it does
 * not take is parsed alone by {@link parseLine} (decoded as UTF-8 unless ASCII). Null when the
 * piece's first line has no compilable shape (arrays of objects, say): {@link parseBatch}
 * then parses an ASCII piece in one `JSON.parse`.
 */
function parseFlat(
  flat: FlatRecordParser,
  text: string,
  ascii: boolean,
  bytes: Buffer,
  at0: number,
  bad: BadLine[],
): { records: unknown[]; positions: number[]; bad: BadLine[] } | null {
  const limit = bytes.length;
  let record = flat.parse(bytes, text, 0, limit);
  if (record === undefined) return null;
  const piece = { records: [] as unknown[], positions: [] as number[], bad };
  let at = 0;
  for (;;) {
    if (record !== undefined) {
      // The record's line must end right after it (a CR allowed before the newline).
      let e = flat.end;
      if (bytes[e] === 13 && (e + 1 === limit || bytes[e + 1] === 10)) e++;
      if (e >= limit || bytes[e] === 10) {
        piece.records.push(record);
        piece.positions.push(at0 + at);
        at = e + 1;
        if (at >= limit) break;
        record = flat.parse(bytes, text, at, limit);
        continue;
      }
    }
    let nl = bytes.indexOf(10, at);
    if (nl < 0 || nl >= limit) nl = limit;
    if (ascii) parseLine(piece, text, at, nl, at0 + at);
    else {
      const line = bytes.toString('utf8', at, nl);
      parseLine(piece, line, 0, line.length, at0 + at);
    }
    at = nl + 1;
    if (at >= limit) break;
    record = flat.parse(bytes, text, at, limit);
  }
  return piece;
}

/**
 * Parses the lines of a piece (`text`, `bytes` long in the file from byte `at0`) with one
 * `JSON.parse` of them all as the elements of one array (newlines made commas): per-line
 * parsing pays the parser's set-up and a sliced string per record, a large share of parsing
 * ~90-byte records. It proves first that the array means what the lines mean. Every line
 * must be an object (starts with `{`, parses to one); then the array's top-level commas all
 * sit between two objects, `}` and `{` with only blanks around the comma, so if no line holds
 * such a `},{` of its own, the top-level commas are exactly the newlines and the n elements
 * are the n lines. Null for a piece this does not prove — non-ASCII
 * text (offsets are per byte), a blank or non-object line, a `},{` inside a line, a line
 * nested past {@link MAX_RECORD_DEPTH} — or that does not parse: {@link parsePiece} then
 * takes it line by line, with each bad line's own error.
 */
function parseBatch(
  text: string,
  bytes: Buffer,
  at0: number,
): { records: unknown[]; positions: number[] } | null {
  if (text.length !== bytes.length) return null;
  const starts: number[] = [];
  let brace = -1;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    let end = nl;
    if (end > at && text.charCodeAt(end - 1) === 13) end--;
    if (end === at || text.charCodeAt(at) !== 0x7b) return null;
    if (
      end - at > 2 * MAX_RECORD_DEPTH &&
      jsonDepth(text.slice(at, end), MAX_RECORD_DEPTH) > MAX_RECORD_DEPTH
    )
      return null;
    // A `}` before the line's end followed by blanks, a comma, blanks and `{`?
    if (brace < at) brace = text.indexOf('}', at);
    while (brace >= 0 && brace < end - 1) {
      let j = blanksFrom(text, brace + 1, end);
      if (text.charCodeAt(j) === 0x2c) {
        j = blanksFrom(text, j + 1, end);
        if (j < end && text.charCodeAt(j) === 0x7b) return null;
      }
      brace = text.indexOf('}', brace + 1);
    }
    starts.push(at);
    at = nl + 1;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(arrayText(bytes, starts));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== starts.length) return null;
  for (const value of parsed as unknown[])
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  // The parsed array is the piece's records; the lines' starts become their file offsets.
  for (let k = 0; k < starts.length; k++) starts[k] += at0;
  return { records: parsed as unknown[], positions: starts };
}

/** A scratch buffer for {@link arrayText}, reused piece after piece (grown when needed). */
let arrayBytes: Buffer = Buffer.alloc(0);

/**
 * The lines of an ASCII piece as the text of one JSON array: `[`, the bytes with the newline
 * before each line made a comma, `]` — built in a reused buffer and decoded once as Latin-1
 * (ASCII: the same characters), rather than decoded, copied by `replaceAll` and flattened
 * again from `'[' + … + ']'` by `JSON.parse`. `starts` are the lines' offsets in `bytes`.
 */
function arrayText(bytes: Buffer, starts: readonly number[]): string {
  const length = bytes.length + 2;
  if (arrayBytes.length < length) arrayBytes = Buffer.allocUnsafeSlow(Math.max(length, 32 * 1024));
  const out = arrayBytes;
  out[0] = 0x5b;
  bytes.copy(out, 1);
  for (let k = 1; k < starts.length; k++) out[starts[k]] = 0x2c;
  // The piece's last newline (if it ends with one) is the array's end; else `]` follows it.
  let end = bytes.length + 1;
  if (bytes[bytes.length - 1] === 10) end--;
  out[end] = 0x5d;
  return out.toString('latin1', 0, end + 1);
}

/** The first index from `from` (below `end`) that is not a JSON blank inside a line. */
function blanksFrom(text: string, from: number, end: number): number {
  let j = from;
  for (; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c !== 32 && c !== 9 && c !== 13) break;
  }
  return j;
}

/** Parses the lines of `text` (`bytes` long in the file, starting at byte `at0`) into `chunk`. */
function parsePiece(chunk: ParsedChunk, text: string, bytes: number, at0: number): void {
  // For ASCII text, string index = byte index; otherwise offsets are counted per line.
  const ascii = text.length === bytes;
  let byteOffset = at0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    parseLine(chunk, text, at, nl, ascii ? at0 + at : byteOffset);
    if (!ascii) byteOffset += Buffer.byteLength(text.slice(at, nl)) + 1;
    at = nl + 1;
  }
}

/**
 * Parses the line `text[at, nl)` (a trailing CR dropped) found at file offset `lineAt` with
 * `JSON.parse`: its record goes to `into`, or, malformed or nested too deep, its error to
 * `into.bad`. A blank line is neither.
 */
function parseLine(
  into: { records: unknown[]; positions: number[]; bad: BadLine[] },
  text: string,
  at: number,
  nl: number,
  lineAt: number,
): void {
  let stop = nl;
  if (stop > at && text.charCodeAt(stop - 1) === 13) stop--;
  if (stop === at) return;
  const line = text.slice(at, stop);
  try {
    // Linear depth check first: a record nested deeper than the limit is a bad line.
    if (line.length > 2 * MAX_RECORD_DEPTH && jsonDepth(line, MAX_RECORD_DEPTH) > MAX_RECORD_DEPTH)
      throw new Error(tooDeepMessage(MAX_RECORD_DEPTH));
    into.records.push(JSON.parse(line));
    into.positions.push(lineAt);
  } catch (error) {
    if (line.trim() !== '')
      into.bad.push({ offset: lineAt, text: line.slice(0, 4096), error: (error as Error).message });
  }
}
