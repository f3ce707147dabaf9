/**
 * `npm run bench:instructions`: the instructions one data-plane thread executes per record,
 * counted by valgrind's callgrind, for `threadModel`'s four ways through the same records
 * (warmflow's parts as a thread of a two-thread run runs them, the hand-written loop, the
 * same loop parsing with warmflow's parser, the parse alone).
 *
 * Times on this kind of machine move by a third from one run to the next; an instruction
 * count does not move with the machine's load (the same build and input count the same
 * within ~1 %), so a change of a few percent in the per-record path shows here when no timing
 * can tell it. Instructions are not time — a cache miss costs many, a vectorised copy few —
 * so `bench:thread` and `bench:throughput` remain the judges; this tells where work was saved.
 *
 * Each way runs in its own `node --single-threaded --predictable` under callgrind (V8's
 * compiler then works on the main thread, where it is counted too), once with one round and
 * once with three: the difference is two steady rounds, the start-up and the JIT's first
 * round cancel. `--predictable` is V8's deterministic mode (among others, a fixed schedule
 * for its collections instead of one paced by measured time, which under callgrind, ~50x
 * slower, drifts): without it the same build counted 4,300–5,500 instructions a record from
 * one run to the next; with it, within ~1 % (the flat loop ~4 %).
 * Every child first runs the loop once and checks each round's count against it.
 * Needs valgrind (`apt-get install valgrind`). BENCH_RECORDS (default 100,000) records.
 * Last line: one JSON object — `ours_instructions_per_record`, `loop_instructions_per_record`,
 * `flat_loop_instructions_per_record` (the loop with warmflow's parser),
 * `parse_instructions_per_record`, `ratio` (loop ÷ ours).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchState } from './bench-flows.js';
import { threadModel } from './thread-model.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const WAYS = ['ours', 'loop', 'flat', 'parse'] as const;
type Way = (typeof WAYS)[number];

/** In the child: the loop once (the count to check), then `rounds` rounds of `way`. */
async function child(way: Way, rounds: number): Promise<void> {
  const model = await threadModel(RECORDS);
  try {
    const buys = model.loop();
    for (let round = 0; round < rounds; round++) {
      const counted =
        way === 'ours'
          ? await model.ours()
          : way === 'loop'
            ? model.loop()
            : way === 'flat'
              ? model.flatLoop()
              : model.parse();
      const expected = way === 'parse' ? RECORDS : buys;
      if (counted !== expected) throw new Error(`${way} counted ${counted}, not ${expected}`);
    }
  } finally {
    model.close();
  }
}

/** Instructions callgrind counted for one child. */
function counted(way: Way, rounds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        '--single-threaded',
        '--predictable',
        fileURLToPath(import.meta.url),
        '--child',
        way,
        String(rounds),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const total = /Collected : (\d+)/.exec(err);
      if (code !== 0 || total === null)
        reject(new Error(`${way} x${rounds} under callgrind exited ${code}:\n${err.slice(-2000)}`));
      else resolve(Number(total[1]));
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.error('bench:instructions needs valgrind: apt-get install valgrind');
    process.exit(1);
  }
  const perRecord: Partial<Record<Way, number>> = {};
  // Two children at a time (callgrind runs a program on one core, ~50x slower).
  for (const way of WAYS) {
    const started = performance.now();
    const [one, three] = await Promise.all([counted(way, 1), counted(way, 3)]);
    perRecord[way] = Math.round((three - one) / 2 / RECORDS);
    console.log(
      `${way}: ${perRecord[way]} instructions a record (${Math.round((performance.now() - started) / 1000)} s)`,
    );
  }
  console.log(
    JSON.stringify({
      records: RECORDS,
      ours_instructions_per_record: perRecord.ours,
      loop_instructions_per_record: perRecord.loop,
      flat_loop_instructions_per_record: perRecord.flat,
      parse_instructions_per_record: perRecord.parse,
      ratio: Math.round((perRecord.loop! / perRecord.ours!) * 1000) / 1000,
      state: benchState(),
    }),
  );
}

const at = process.argv.indexOf('--child');
if (at >= 0) await child(process.argv[at + 1] as Way, Number(process.argv[at + 2]));
else await main();
