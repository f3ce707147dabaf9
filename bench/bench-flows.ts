import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temporary folder holding a generated flow, its JS functions and its input. */
export interface BenchFlow {
  dir: string;
  flowFile: string;
  input: string;
}

const FUNCTIONS = `
export function shape(e) {
  return { user: e.user, kind: e.kind, cents: Math.round(e.amount * 100) };
}
export function purchases(e) {
  return e.kind === 'buy' ? { user: e.user, cents: e.cents } : undefined;
}
export function count(e, ctx) {
  ctx.state.write('n', (ctx.state.read('n') ?? 0) + 1);
  return undefined;
}
export async function countAwaited(e, ctx) {
  const n = (await ctx.state.get('n')) ?? 0;
  await ctx.state.set('n', n + 1);
  return undefined;
}
export function echo(e) {
  return { id: e.id, seen: true };
}
`;

/** A fresh temporary folder holding the bench functions and a flow file of `lines`. */
function writeFlow(prefix: string, lines: string[]): { dir: string; flowFile: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFileSync(path.join(dir, 'functions.mjs'), FUNCTIONS);
  const flowFile = path.join(dir, 'flow.yaml');
  writeFileSync(flowFile, [...lines, ''].join('\n'));
  return { dir, flowFile };
}

/** One event line as the generator writes it (~90 bytes). */
export function eventLine(i: number): string {
  const kinds = ['view', 'view', 'cart', 'buy'];
  return JSON.stringify({
    user: `u${(i * 7919) % 50_000}`,
    kind: kinds[i % 4],
    amount: ((i * 31) % 10_000) / 100,
    ts: 1_700_000_000_000 + i * 10,
  });
}

/** How the throughput flow's count uses its state: read/write of a declared name, or awaited get/set. */
export type BenchState = 'declared' | 'awaited';

/** `BENCH_STATE` (declared, the default, or awaited); anything else is refused. */
export function benchState(): BenchState {
  const value = process.env.BENCH_STATE ?? 'declared';
  if (value !== 'declared' && value !== 'awaited')
    throw new Error(`BENCH_STATE must be declared or awaited, got "${value}"`);
  return value;
}

/**
 * The throughput flow: parse -> map (shape) -> filter (purchases) -> keyed count per user,
 * the count kept in per-key state, as users of warmflow would write it: by default with the
 * synchronous `ctx.state.read`/`write` of a declared name (`state: [n]`); with `awaited`, with
 * `await ctx.state.get`/`set` (three awaits a keyed record, ~2,400 instructions).
 */
export function throughputFlow(records: number, state: BenchState = 'declared'): BenchFlow {
  const count =
    state === 'declared'
      ? '  - { name: count, module: ./functions.mjs, input: [Purchase], output: [Tally], key: user, state: [n] }'
      : '  - { name: count, module: ./functions.mjs, export: countAwaited, input: [Purchase], output: [Tally], key: user }';
  const { dir, flowFile } = writeFlow('warmflow-bench-', [
    'name: bench_throughput',
    'streams:',
    '  events: { type: Event, source: ./events.jsonl }',
    'functions:',
    '  - { name: shape, module: ./functions.mjs, input: [Event], output: [Shaped] }',
    '  - { name: purchases, module: ./functions.mjs, input: [Shaped], output: [Purchase] }',
    count,
  ]);
  const input = path.join(dir, 'events.jsonl');
  const lines: string[] = [];
  const parts: string[] = [];
  for (let i = 0; i < records; i++) {
    lines.push(eventLine(i));
    if (lines.length === 10_000) {
      parts.push(lines.join('\n') + '\n');
      lines.length = 0;
    }
  }
  if (lines.length > 0) parts.push(lines.join('\n') + '\n');
  writeFileSync(input, parts.join(''));
  return { dir, flowFile, input };
}

/** The latency flow: a small input, one map, a JSONL sink. */
export function latencyFlow(): BenchFlow {
  const { dir, flowFile } = writeFlow('warmflow-latency-', [
    'name: bench_latency',
    'streams:',
    '  items: { type: Item, source: ./items.jsonl }',
    'functions:',
    '  - { name: echo, module: ./functions.mjs, input: [Item], output: [Seen] }',
  ]);
  const input = path.join(dir, 'items.jsonl');
  writeFileSync(
    input,
    Array.from({ length: 200 }, (_, id) => JSON.stringify({ id, payload: 'x'.repeat(40) })).join(
      '\n',
    ) + '\n',
  );
  return { dir, flowFile, input };
}
