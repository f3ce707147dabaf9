import type { UserFunction } from '../../template/function-api.js';
import { fieldOf, keyString, type NodeContext } from './node-context.js';

/** One function of a chain, as the executor runs it. */
export interface ChainStage {
  fn: UserFunction;
  ctx: NodeContext;
  /** The key field (only the chain's first function may be keyed). */
  key: string | undefined;
}

/** What a chain's records gave: the last function's records, and counts per function. */
export interface ChainOutput {
  recs: unknown[];
  pos: number[];
  /** Records into each function, and records out of it (an array's elements counted each). */
  ins: number[];
  outs: number[];
  /** A record function `stage` could not process. */
  dead(stage: number, record: unknown, error: unknown, position: number): void;
}

/**
 * Runs records through a chain of functions one record at a time, as Flink chains operators:
 * a record goes from one function straight into the next (the same call the executor makes
 * per node: `ctx.record` and, for a keyed first function, `ctx.key` set before it), so no
 * array of records is built between them. Each function sees its records in input order,
 * and a record's next function runs once its function returned (or its promise settled);
 * what a function returns means what it means to a node run alone: `undefined`/`null`
 * nothing, an array its elements, a promise (or thenable) what it resolves to, a throw a dead
 * letter of that function. Synchronous while every function returns at once; otherwise the
 * returned promise finishes the records from the one that waited on.
 */
export function runChain(
  stages: readonly ChainStage[],
  recs: readonly unknown[],
  pos: readonly number[],
  out: ChainOutput,
): Promise<void> | undefined {
  const n = recs.length;
  for (let i = 0; i < n; i++) {
    const waiting = advance(stages, 0, recs[i], pos[i], out);
    if (waiting !== undefined) return finishChain(stages, recs, pos, i, waiting, out);
  }
  return undefined;
}

/** The records after `i` (whose chain is still `waiting`), one at a time. */
async function finishChain(
  stages: readonly ChainStage[],
  recs: readonly unknown[],
  pos: readonly number[],
  i: number,
  waiting: Promise<void>,
  out: ChainOutput,
): Promise<void> {
  await waiting;
  for (let j = i + 1; j < recs.length; j++) {
    const next = advance(stages, 0, recs[j], pos[j], out);
    if (next !== undefined) await next;
  }
}

/**
 * Takes `record` through functions `k`… (`k === stages.length`: it leaves the chain); a
 * promise when a function returned one, which settles once the record's chain is done.
 */
function advance(
  stages: readonly ChainStage[],
  k: number,
  record: unknown,
  position: number,
  out: ChainOutput,
): Promise<void> | undefined {
  for (;;) {
    if (k === stages.length) {
      out.recs.push(record);
      out.pos.push(position);
      return undefined;
    }
    const stage = stages[k];
    const ctx = stage.ctx;
    out.ins[k]++;
    if (ctx.tracksRecord) ctx.record = record;
    if (stage.key !== undefined) ctx.key = keyString(fieldOf(record, stage.key));
    let result: unknown;
    try {
      result = stage.fn(record, ctx);
    } catch (error) {
      out.dead(k, record, error, position);
      return undefined;
    }
    if (isThenable(result)) return settle(stages, k, record, result, position, out);
    if (result === undefined || result === null) return undefined;
    if (Array.isArray(result)) {
      out.outs[k] += result.length;
      return advanceEach(stages, k + 1, result, position, out);
    }
    out.outs[k]++;
    record = result;
    k++;
  }
}

/** Function `k`'s promise for `record`, then what it gave through the functions after it. */
async function settle(
  stages: readonly ChainStage[],
  k: number,
  record: unknown,
  pending: PromiseLike<unknown>,
  position: number,
  out: ChainOutput,
): Promise<void> {
  let result: unknown;
  try {
    result = await pending;
  } catch (error) {
    out.dead(k, record, error, position);
    return;
  }
  if (result === undefined || result === null) return;
  if (Array.isArray(result)) {
    out.outs[k] += result.length;
    await advanceEach(stages, k + 1, result, position, out);
    return;
  }
  out.outs[k]++;
  await advance(stages, k + 1, result, position, out);
}

/** The elements of an array a function returned, each through functions `k`…, in order. */
function advanceEach(
  stages: readonly ChainStage[],
  k: number,
  records: readonly unknown[],
  position: number,
  out: ChainOutput,
): Promise<void> | undefined {
  for (let j = 0; j < records.length; j++) {
    const waiting = advance(stages, k, records[j], position, out);
    if (waiting !== undefined) return finishEach(stages, k, records, j, waiting, position, out);
  }
  return undefined;
}

async function finishEach(
  stages: readonly ChainStage[],
  k: number,
  records: readonly unknown[],
  j: number,
  waiting: Promise<void>,
  position: number,
  out: ChainOutput,
): Promise<void> {
  await waiting;
  for (let m = j + 1; m < records.length; m++) {
    const next = advance(stages, k, records[m], position, out);
    if (next !== undefined) await next;
  }
}

/** Whether a function returned a promise (or any thenable) rather than its result. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
