import { WarmflowError } from '../../errors.js';
import { readCsvRows } from './csv-lines.js';

/** One simulated unit of an invocation trace: a `HashFunction` and the minutes it was invoked in. */
export interface TraceFunction {
  id: string;
  app: string | undefined;
  owner: string | undefined;
  trigger: string | undefined;
  /** Memory held while the function is loaded (MB). */
  memoryMb: number;
  /** Where `memoryMb` came from. */
  memorySource: 'function' | 'app' | 'median';
  /** Ascending minute indexes (0-based step t) with at least one invocation. */
  minutes: Int32Array;
  /** Invocations in each of `minutes`. */
  counts: Float64Array;
}

/** An invocation trace ready to simulate. */
export interface Trace {
  functions: TraceFunction[];
  /** Number of one-minute steps T. */
  minutes: number;
  /** The header of each minute column, in step order. */
  minuteLabels: string[];
  /** The median memory given to functions without a memory row. */
  medianMemoryMb: number;
}

const MINUTE_HEADER = /^(?:minute_)?(\d+)$/;
const COUNT = /^\d+(?:\.0*)?$/;

function column(header: string[], name: string): number {
  return header.findIndex((h) => h.trim() === name);
}

function invalid(where: string, message: string, hint: string): WarmflowError {
  return new WarmflowError('E_INVALID_TRACE', `${where}: ${message}`, { hint });
}

interface RawFunction {
  id: string;
  app: string | undefined;
  owner: string | undefined;
  trigger: string | undefined;
  minutes: number[];
  counts: number[];
}

/**
 * Reads an Azure Functions 2019 invocations CSV, streaming: columns are matched by
 * header name (`HashFunction` required; `HashOwner`, `HashApp`, `Trigger` optional) and
 * the minute columns are every column headed by an integer or `minute_N`, in ascending
 * order of N. Only non-zero minutes are kept. Rows repeating a `HashFunction` are summed
 * into one unit, since the function is what is simulated.
 */
export async function readInvocations(
  file: string,
): Promise<{ functions: RawFunction[]; minuteLabels: string[] }> {
  let header: string[] | undefined;
  let idCol = -1;
  let appCol = -1;
  let ownerCol = -1;
  let triggerCol = -1;
  let minuteCols: number[] = [];
  let minuteLabels: string[] = [];
  const byId = new Map<string, RawFunction>();
  for await (const { cells, line } of readCsvRows(file)) {
    if (header === undefined) {
      header = cells.map((c) => c.trim());
      idCol = column(header, 'HashFunction');
      if (idCol === -1) {
        throw invalid(
          `${file}:${line}`,
          `no HashFunction column in the header (${header.slice(0, 6).join(',')}…)`,
          'give the invocations CSV of the Azure Functions 2019 trace: HashOwner,HashApp,HashFunction,Trigger,1,2,…',
        );
      }
      appCol = column(header, 'HashApp');
      ownerCol = column(header, 'HashOwner');
      triggerCol = column(header, 'Trigger');
      const minutes: { col: number; n: number; label: string }[] = [];
      const seen = new Map<number, string>();
      header.forEach((h, col) => {
        const m = MINUTE_HEADER.exec(h);
        if (m === null) return;
        const n = Number(m[1]);
        const other = seen.get(n);
        if (other !== undefined) {
          throw invalid(
            `${file}:${line}`,
            `minute ${n} appears twice (columns "${other}" and "${h}")`,
            'each minute column must be unique',
          );
        }
        seen.set(n, h);
        minutes.push({ col, n, label: h });
      });
      if (minutes.length === 0) {
        throw invalid(
          `${file}:${line}`,
          'no minute columns (headers that are integers or minute_N)',
          'the invocations CSV has one column per minute, headed 1,2,… or minute_1,minute_2,…',
        );
      }
      minutes.sort((a, b) => a.n - b.n);
      minuteCols = minutes.map((m) => m.col);
      minuteLabels = minutes.map((m) => m.label);
      continue;
    }
    if (cells.length < header.length) {
      throw invalid(
        `${file}:${line}`,
        `row has ${cells.length} cells, the header has ${header.length}`,
        'every row needs a count for every minute column',
      );
    }
    const id = cells[idCol].trim();
    if (id === '') {
      throw invalid(`${file}:${line}`, 'empty HashFunction', 'every row names its function');
    }
    let fn = byId.get(id);
    if (fn === undefined) {
      fn = {
        id,
        app: appCol === -1 ? undefined : cells[appCol].trim(),
        owner: ownerCol === -1 ? undefined : cells[ownerCol].trim(),
        trigger: triggerCol === -1 ? undefined : cells[triggerCol].trim(),
        minutes: [],
        counts: [],
      };
      byId.set(id, fn);
    }
    const repeated = fn.minutes.length > 0;
    for (let t = 0; t < minuteCols.length; t++) {
      const cell = cells[minuteCols[t]].trim();
      if (cell === '0') continue;
      if (!COUNT.test(cell)) {
        throw invalid(
          `${file}:${line}:${minuteCols[t] + 1}`,
          `minute "${minuteLabels[t]}" holds ${JSON.stringify(cell)}, not a count of invocations`,
          'minute cells are non-negative integers',
        );
      }
      const count = Number(cell);
      if (count === 0) continue;
      if (repeated) addMinute(fn, t, count);
      else {
        fn.minutes.push(t);
        fn.counts.push(count);
      }
    }
  }
  if (header === undefined) {
    throw invalid(file, 'empty file', 'give the invocations CSV with its header row');
  }
  return { functions: [...byId.values()], minuteLabels };
}

function addMinute(fn: RawFunction, t: number, count: number): void {
  // Rare (a repeated HashFunction): keep the minutes sorted with a binary search.
  let lo = 0;
  let hi = fn.minutes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fn.minutes[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  if (fn.minutes[lo] === t) fn.counts[lo] += count;
  else {
    fn.minutes.splice(lo, 0, t);
    fn.counts.splice(lo, 0, count);
  }
}

/** Memory per key: `HashFunction`, or `HashApp` when the file has no `HashFunction` column. */
export interface MemoryTable {
  by: 'function' | 'app';
  mb: Map<string, number>;
  /** Median of every row's `AverageAllocatedMb` (mean of the middle two for an even count). */
  medianMb: number;
}

/**
 * Reads a memory CSV: `AverageAllocatedMb` per `HashFunction`, or per `HashApp` when the
 * file has no `HashFunction` column (the public dataset's own per-application file).
 * A key repeated keeps its first row.
 */
export async function readMemory(file: string): Promise<MemoryTable> {
  let header: string[] | undefined;
  let keyCol = -1;
  let by: 'function' | 'app' = 'function';
  let mbCol = -1;
  const mb = new Map<string, number>();
  const values: number[] = [];
  for await (const { cells, line } of readCsvRows(file)) {
    if (header === undefined) {
      header = cells.map((c) => c.trim());
      keyCol = column(header, 'HashFunction');
      if (keyCol === -1) {
        keyCol = column(header, 'HashApp');
        by = 'app';
      }
      mbCol = column(header, 'AverageAllocatedMb');
      if (keyCol === -1 || mbCol === -1) {
        throw invalid(
          `${file}:${line}`,
          'the header needs AverageAllocatedMb and HashFunction or HashApp',
          'give the memory CSV of the Azure Functions 2019 trace (app_memory_percentiles)',
        );
      }
      continue;
    }
    if (cells.length <= Math.max(keyCol, mbCol)) {
      throw invalid(
        `${file}:${line}`,
        `row has ${cells.length} cells, the header has ${header.length}`,
        'every row needs its key and AverageAllocatedMb',
      );
    }
    const raw = cells[mbCol].trim();
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value) || value < 0) {
      throw invalid(
        `${file}:${line}:${mbCol + 1}`,
        `AverageAllocatedMb is ${JSON.stringify(raw)}, not a number of MB ≥ 0`,
        'fix or remove the row',
      );
    }
    const key = cells[keyCol].trim();
    if (!mb.has(key)) mb.set(key, value);
    values.push(value);
  }
  if (header === undefined || values.length === 0) {
    throw invalid(file, 'no memory rows', 'give the memory CSV with its header and rows');
  }
  return { by, mb, medianMb: median(values) };
}

/** Median (mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Loads an invocations CSV and a memory CSV into a {@link Trace}: each function gets its
 * own memory row, else its application's (when the memory file is per application),
 * else the median of the memory file.
 */
export async function loadTrace(invocationsFile: string, memoryFile: string): Promise<Trace> {
  const [{ functions, minuteLabels }, memory] = await Promise.all([
    readInvocations(invocationsFile),
    readMemory(memoryFile),
  ]);
  return {
    functions: functions.map((fn) => {
      const key = memory.by === 'function' ? fn.id : fn.app;
      const own = key === undefined ? undefined : memory.mb.get(key);
      return {
        id: fn.id,
        app: fn.app,
        owner: fn.owner,
        trigger: fn.trigger,
        memoryMb: own ?? memory.medianMb,
        memorySource: own === undefined ? 'median' : memory.by,
        minutes: Int32Array.from(fn.minutes),
        counts: Float64Array.from(fn.counts),
      };
    }),
    minutes: minuteLabels.length,
    minuteLabels,
    medianMemoryMb: memory.medianMb,
  };
}
