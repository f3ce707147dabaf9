/**
 * One data-plane thread's work per record, modelled in one process (`bench:thread`,
 * `bench:instructions`): the throughput flow's records (parse -> map -> filter -> keyed count)
 * run through warmflow's own parts as a thread of a two-thread run runs them, beside
 * `bench:throughput`'s tuned hand-written loop over the same bytes.
 *   ours — the file's chunks parsed by `parseLines`, `BatchExecutor.runSource` over them as
 *          partition 0 of 2 (every keyed record handed to the exchange, as a thread of a
 *          two-thread run does), the own share run at once, the other share as it crosses
 *          to the other thread (packed as columns where it fits, structured-cloned as
 *          `postMessage` does, unpacked) and run as if received: all the work of both
 *          threads, none of their waiting;
 *   loop — `bench:throughput`'s tuned loop (64 KiB reads, a line at a time);
 *   flatLoop — the same loop over the chunks parsed by `parseLines` (warmflow's parser, flat
 *          records by their shape), so ours ÷ it is the framework's own cost;
 *   parse — `parseLines` alone, the part of ours no framework can skip.
 * ours and loop count the purchases; the counts must agree.
 */
import { closeSync, openSync, readSync, fstatSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { loadFlow } from '../src/template/load-flow.js';
import { loadFunction } from '../src/worker/load-function.js';
import { parseLines } from '../src/sources/jsonl-chunks.js';
import { compileGraph } from '../src/worker/dataplane/node-graph.js';
import { BatchExecutor } from '../src/worker/dataplane/batch-executor.js';
import { packItems, unpackItems } from '../src/worker/dataplane/record-columns.js';
import type { UserFunction } from '../src/template/function-api.js';
import { DATA_PLANE_V8_FLAGS } from '../src/worker/spawn.js';
import { benchState, throughputFlow } from './bench-flows.js';

const CHUNK_BYTES = 256 * 1024;

// The V8 flags of a worker process, so the model's records live as a data-plane thread's do.
for (const flag of DATA_PLANE_V8_FLAGS) setFlagsFromString(flag);

/** The three ways through the records; each returns what it counted. */
export interface ThreadModel {
  records: number;
  ours(): Promise<number>;
  loop(): number;
  flatLoop(): number;
  parse(): number;
  /** Removes the generated flow and input. */
  close(): void;
}

/** The file's chunks as a two-thread run reads them: 256 KiB, ending on a newline. */
function chunks(buffer: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let from = 0; from < buffer.length;) {
    let to = Math.min(buffer.length, from + CHUNK_BYTES);
    const nl = buffer.indexOf(10, to - 1);
    to = nl < 0 ? buffer.length : nl + 1;
    out.push([from, to]);
    from = to;
  }
  return out;
}

/** `bench:throughput`'s tuned loop over a buffer: 64 KiB decoded at a time, a line at a time. */
function loop(buffer: Buffer): number {
  const counts = new Map<string, number>();
  let carry = '';
  for (let at = 0; at < buffer.length; at += 1 << 16) {
    const text = carry + buffer.toString('utf8', at, Math.min(buffer.length, at + (1 << 16)));
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      const line = text.slice(from, nl);
      from = nl + 1;
      if (line.length === 0) continue;
      let e: { user: string; kind: string; amount: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        continue;
      }
      const s = { user: e.user, kind: e.kind, cents: Math.round(e.amount * 100) };
      if (s.kind !== 'buy') continue;
      counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
    }
    carry = text.slice(from);
  }
  let buys = 0;
  for (const n of counts.values()) buys += n;
  return buys;
}

/** Generates the throughput flow's `records` records and loads its functions. */
export async function threadModel(records: number): Promise<ThreadModel> {
  const bench = throughputFlow(records, benchState());
  try {
    const flow = await loadFlow(bench.flowFile);
    const template = flow.template;
    const functions = new Map<string, UserFunction>();
    for (const f of flow.functions)
      functions.set(
        f.name,
        await loadFunction({ node_id: f.name, module: f.module!, export: f.export }),
      );
    const source = template.nodes.find((n) => n.kind === 'source')!.id;
    const graph = compileGraph(
      template,
      template.nodes.map((n) => n.id),
      [source],
      {},
    );
    const fd = openSync(bench.input, 'r');
    const buffer = Buffer.allocUnsafe(fstatSync(fd).size);
    readSync(fd, buffer, 0, buffer.length, 0);
    closeSync(fd);
    const pieces = chunks(buffer);

    const ours = async (): Promise<number> => {
      let own: Array<{ node: string; recs: unknown[]; pos: number[] }> = [];
      let other: typeof own = [];
      const executor = new BatchExecutor({
        graph,
        template: template.name,
        functions,
        stores: new Map(),
        stateStores: new Map(),
        lookups: new Map(),
        partition: 0,
        partitions: 2,
        checkpoints: true,
        outlets: {
          exchange: (p, node, recs, pos) => (p === 0 ? own : other).push({ node, recs, pos }),
          sink: () => undefined,
          // No record of the bench is malformed: a dead letter is a failure of the model.
          dead: (node, _record, error) => {
            throw new Error(`node ${node} dead-lettered a record: ${String(error)}`);
          },
          stored: () => undefined,
        },
      });
      for (const [from, to] of pieces) {
        const parsed = parseLines(buffer, from, to, 0);
        own = [];
        other = [];
        await executor.runSource(source, parsed.records, parsed.positions, true);
        if (own.length > 0) await executor.runAt(own);
        // What `postMessage` does to the other share: packed, cloned, unpacked by the peer.
        if (other.length > 0) await executor.runAt(unpackItems(structuredClone(packItems(other))));
      }
      return executor.stats.count.records_in;
    };
    const flatLoop = (): number => {
      const counts = new Map<string, number>();
      for (const [from, to] of pieces)
        for (const e of parseLines(buffer, from, to, 0).records as Array<{
          user: string;
          kind: string;
          amount: number;
        }>) {
          const s = { user: e.user, kind: e.kind, cents: Math.round(e.amount * 100) };
          if (s.kind !== 'buy') continue;
          counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
        }
      let buys = 0;
      for (const n of counts.values()) buys += n;
      return buys;
    };
    const parse = (): number => {
      let n = 0;
      for (const [from, to] of pieces) n += parseLines(buffer, from, to, 0).records.length;
      return n;
    };
    return {
      records,
      ours,
      loop: () => loop(buffer),
      flatLoop,
      parse,
      close: () => rmSync(bench.dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(bench.dir, { recursive: true, force: true });
    throw error;
  }
}
