import { createReadStream } from 'node:fs';
import { WarmflowError } from '../../errors.js';
import { splitCsvRecord } from '../../sources/csv-parser.js';

/** Longest physical line a trace CSV may hold: a day of minute counts is ~10 KB, a month ~300 KB. */
export const MAX_TRACE_LINE_BYTES = 8 * 1024 * 1024;

/** One CSV record of a trace file, with the line it came from (1-based) for messages. */
export interface CsvRow {
  cells: string[];
  line: number;
}

/**
 * Streams the records of a CSV file one at a time, never holding more than one line.
 * A line longer than `maxLineBytes` or a malformed quoted cell is refused with the
 * file and line, so a wrong file cannot exhaust memory. Blank lines are skipped.
 * Trace files have no multi-line cells; a quote left open at the end of a line is an error.
 */
export async function* readCsvRows(
  file: string,
  maxLineBytes = MAX_TRACE_LINE_BYTES,
): AsyncGenerator<CsvRow> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let line = 0;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const record = (bytes: Buffer): CsvRow | undefined => {
    line++;
    let text = bytes.toString('utf8');
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return undefined;
    const cells = splitCsvRecord(text, ',');
    if (cells === undefined) {
      throw new WarmflowError('E_INVALID_TRACE', `${file}:${line}: malformed quoted cell`, {
        hint: 'trace files are plain CSV: one record per line, quotes doubled inside quoted cells',
      });
    }
    return { cells, line };
  };
  const tooLong = (): WarmflowError =>
    new WarmflowError(
      'E_INVALID_TRACE',
      `${file}:${line + 1}: line longer than ${maxLineBytes} bytes`,
      { hint: 'is this a CSV trace? one record per line is expected' },
    );
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const end = chunk.indexOf(10, start);
        if (end === -1) break;
        const piece = chunk.subarray(start, end);
        if (carryBytes + piece.length > maxLineBytes) throw tooLong();
        const whole = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
        carry = [];
        carryBytes = 0;
        const row = record(whole);
        if (row !== undefined) yield row;
        start = end + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        carryBytes += rest.length;
        if (carryBytes > maxLineBytes) throw tooLong();
        // Copy: the stream may reuse its chunk buffers.
        carry.push(Buffer.from(rest));
      }
    }
    if (carryBytes > 0) {
      const row = record(Buffer.concat(carry));
      if (row !== undefined) yield row;
    }
  } catch (error) {
    if (error instanceof WarmflowError) throw error;
    throw new WarmflowError('E_INVALID_TRACE', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    stream.destroy();
  }
}
