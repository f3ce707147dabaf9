import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { WarmflowError } from '../../errors.js';

/**
 * Reads the first `limit` records of a source file for calibration: JSON Lines
 * (`.jsonl`, `.ndjson`, anything else), a JSON array (`.json`) or CSV with a header
 * (`.csv`, values typed by content), optionally gzipped (`.gz`). Malformed lines are
 * skipped: calibration needs records, the profiler reports the bad ones.
 */
export async function readSample(file: string, limit: number): Promise<unknown[]> {
  const plain = file.replace(/\.gz$/i, '');
  try {
    if (/\.json$/i.test(plain)) {
      const text = file.endsWith('.gz')
        ? await readLines(file, Infinity).then((l) => l.join('\n'))
        : await readFile(file, 'utf8');
      const parsed = JSON.parse(text) as unknown;
      if (!Array.isArray(parsed)) throw new Error('a .json source must hold an array of records');
      return parsed.slice(0, limit);
    }
    if (/\.csv$/i.test(plain)) {
      const lines = await readLines(file, limit + 1);
      const header = splitCsv(lines[0] ?? '');
      return lines.slice(1).map((line) => {
        const cells = splitCsv(line);
        return Object.fromEntries(header.map((name, i) => [name, typed(cells[i] ?? '')]));
      });
    }
    const records: unknown[] = [];
    for (const line of await readLines(file, limit * 2)) {
      if (records.length >= limit) break;
      try {
        records.push(JSON.parse(line));
      } catch {
        // skipped: see above
      }
    }
    return records;
  } catch (error) {
    throw new WarmflowError(
      'E_SOURCE',
      `cannot read a sample from ${file}: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'pass --no-calibrate to predict without running the functions',
      },
    );
  }
}

async function readLines(file: string, limit: number): Promise<string[]> {
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines: string[] = [];
  const reader = createInterface({ input, crlfDelay: Infinity });
  for await (const line of reader) {
    if (line.trim().length > 0) lines.push(line);
    if (lines.length >= limit) break;
  }
  reader.close();
  raw.destroy();
  return lines;
}

function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

function typed(cell: string): unknown {
  if (cell === '') return null;
  if (cell === 'true' || cell === 'false') return cell === 'true';
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell)) return Number(cell);
  return cell;
}
