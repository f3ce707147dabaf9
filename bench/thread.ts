/**
 * `npm run bench:thread`: one data-plane thread's work per record, without the threads.
 *
 * `bench:throughput` judges the data plane on two cores, where the one-thread loop it divides
 * by moves by a third from one run to the next. This models what the threads of a two-thread
 * run do, in one process, alternated with the hand-written loop over the same records
 * (parse -> map -> filter -> keyed count, 500,000 records by default), so a change to the
 * per-record path can be told from noise:
 *   ours — the file's chunks parsed by `parseLines`, `BatchExecutor.runSource` over them as
 *          partition 0 of 2 (every keyed record handed to the exchange, as a thread of a
 *          two-thread run does), the own share run at once, the other share as it crosses
 *          to the other thread (packed as columns where it fits, structured-cloned as
 *          `postMessage` does, unpacked) and run as if received: all the work of both
 *          threads, none of their waiting;
 *   loop — `bench:throughput`'s tuned loop (64 KiB reads, a line at a time);
 *   parse — `parseLines` alone, the part of ours no framework can skip.
 * Both count the purchases; the counts must agree or the bench fails.
 * Last line: one JSON object — `ours_us_per_record`, `loop_us_per_record`, `ratio` (loop ÷
 * ours, time), `parse_us_per_record`, `ratio_ci90` (bootstrap over the rounds).
 */
import { closeSync, openSync, readSync, fstatSync, rmSync } from 'node:fs';
import { loadFlow } from '../src/template/load-flow.js';
import { loadFunction } from '../src/worker/load-function.js';
import { parseLines } from '../src/sources/jsonl-chunks.js';
import { compileGraph } from '../src/worker/dataplane/node-graph.js';
import { BatchExecutor } from '../src/worker/dataplane/batch-executor.js';
import { packItems, unpackItems } from '../src/worker/dataplane/record-columns.js';
import type { UserFunction } from '../src/template/function-api.js';
import { throughputFlow } from './bench-flows.js';
import { bootstrap90 } from './predict-stats.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const CHUNK_BYTES = 256 * 1024;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

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

async function main(): Promise<void> {
  const bench = throughputFlow(RECORDS);
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
          dead: () => undefined,
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
    const parseOnly = (): number => {
      let n = 0;
      for (const [from, to] of pieces) n += parseLines(buffer, from, to, 0).records.length;
      return n;
    };

    const times = { ours: [] as number[], loop: [] as number[], parse: [] as number[] };
    // One untimed pass each: the JIT's warm-up, as the warm resources have had theirs.
    const buys = loop(buffer);
    if ((await ours()) !== buys) throw new Error('the model counted other purchases than the loop');
    if (parseOnly() !== RECORDS) throw new Error('parseLines did not parse every record');
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      const counted = await ours();
      times.ours.push(performance.now() - t);
      t = performance.now();
      const looped = loop(buffer);
      times.loop.push(performance.now() - t);
      t = performance.now();
      parseOnly();
      times.parse.push(performance.now() - t);
      if (counted !== buys || looped !== buys)
        throw new Error(`round ${round + 1}: ${counted} and ${looped} purchases, not ${buys}`);
      console.log(
        `round ${round + 1}: ours ${r3((times.ours.at(-1)! / RECORDS) * 1000)} µs/record, loop ${r3((times.loop.at(-1)! / RECORDS) * 1000)}, parse ${r3((times.parse.at(-1)! / RECORDS) * 1000)}`,
      );
    }
    const perRecord = (ms: number[]) => r3((median(ms) / RECORDS) * 1000);
    const rounds = times.ours.map((o, i) => ({ ours: o, loop: times.loop[i] }));
    const ratioCi = bootstrap90(
      rounds,
      (sample) => median(sample.map((s) => s.loop)) / median(sample.map((s) => s.ours)),
    );
    console.log(
      JSON.stringify({
        records: RECORDS,
        rounds: ROUNDS,
        ours_us_per_record: perRecord(times.ours),
        loop_us_per_record: perRecord(times.loop),
        ratio: r3(median(times.loop) / median(times.ours)),
        ratio_ci90: ratioCi.map(r3),
        parse_us_per_record: perRecord(times.parse),
      }),
    );
  } finally {
    rmSync(bench.dir, { recursive: true, force: true });
  }
}

await main();
