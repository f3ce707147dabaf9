/**
 * `npm run bench:thread`: one data-plane thread's work per record, without the threads.
 *
 * `bench:throughput` judges the data plane on two cores, where the one-thread loop it divides
 * by moves by a third from one run to the next. This times `threadModel`'s four ways
 * through the same records (500,000 by default) — warmflow's parts as a thread of a
 * two-thread run runs them, the hand-written loop, that loop parsing with warmflow's parser,
 * the parse alone — alternated, so a change
 * to the per-record path can be told from noise (`bench:instructions` counts instructions
 * instead, which do not move with the machine's load). The counts must agree or the bench fails.
 * Last line: one JSON object — `ours_us_per_record`, `loop_us_per_record`, `ratio` (loop ÷
 * ours, time), `parse_us_per_record`, `ratio_ci90` (bootstrap over the rounds),
 * `flat_loop_us_per_record` and `ratio_vs_flat_loop` (the same loop parsing with warmflow's
 * parser: what the framework costs apart from the parse).
 */
import { benchState } from './bench-flows.js';
import { threadModel } from './thread-model.js';
import { bootstrap90 } from './predict-stats.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const model = await threadModel(RECORDS);
  try {
    const times = {
      ours: [] as number[],
      loop: [] as number[],
      flat: [] as number[],
      parse: [] as number[],
    };
    // One untimed pass each: the JIT's warm-up, as the warm resources have had theirs.
    const buys = model.loop();
    if ((await model.ours()) !== buys)
      throw new Error('the model counted other purchases than the loop');
    if (model.parse() !== RECORDS) throw new Error('parseLines did not parse every record');
    if (model.flatLoop() !== buys) throw new Error('the flat loop counted other purchases');
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      const counted = await model.ours();
      times.ours.push(performance.now() - t);
      t = performance.now();
      const looped = model.loop();
      times.loop.push(performance.now() - t);
      t = performance.now();
      const flat = model.flatLoop();
      times.flat.push(performance.now() - t);
      t = performance.now();
      model.parse();
      times.parse.push(performance.now() - t);
      if (counted !== buys || looped !== buys || flat !== buys)
        throw new Error(`round ${round + 1}: ${counted} and ${looped} purchases, not ${buys}`);
      console.log(
        `round ${round + 1}: ours ${r3((times.ours.at(-1)! / RECORDS) * 1000)} µs/record, loop ${r3((times.loop.at(-1)! / RECORDS) * 1000)}, flat loop ${r3((times.flat.at(-1)! / RECORDS) * 1000)}, parse ${r3((times.parse.at(-1)! / RECORDS) * 1000)}`,
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
        flat_loop_us_per_record: perRecord(times.flat),
        ratio_vs_flat_loop: r3(median(times.flat) / median(times.ours)),
        state: benchState(),
      }),
    );
  } finally {
    model.close();
  }
}

await main();
