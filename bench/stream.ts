/**
 * `npm run bench:stream`: warmflow on a live NATS JetStream stream.
 *
 * 1. Latency: records published at a fixed rate (BENCH_RATE, default 500/s, for
 *    BENCH_SECONDS, default 5 s) each carry their publish time; the flow maps them to a
 *    `nats` sink subject; a subscriber on it takes publish → sink p50/p99.
 * 2. Highest sustained rate: BENCH_RECORDS (default 100,000) records are stored first, then
 *    read (a) by a bare JetStream consumer loop doing the same parse and acknowledge
 *    (`consume()` with a callback, `JSON.parse`, `ack` per message; one thread), and (b) by
 *    the flow (map → JSONL sink, acknowledged at its commit points), each through its own
 *    durable consumer, from its first message to its last acknowledgement. BENCH_STREAM_PAIRS
 *    (default 5) pairs, alternating which goes first; `ratio` = the median of the pairs'
 *    flow / bare ratios (target ≥ 0.7), `ratio_range` their lowest and highest, the
 *    rates the medians over the pairs.
 *
 * Needs nats-server -js on 127.0.0.1:4222 (WARMFLOW_BENCH_NATS_URL). Figures on a shared
 * machine are noisy. Last line: one JSON object.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { executeDataflow } from '../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../src/execute/plan.js';
import { ruleRprs } from '../src/predictor/rule-rprs.js';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import { connectNats } from '../src/sources/nats/nats-connection.js';
import { loadFlow } from '../src/template/load-flow.js';

const NATS = process.env.WARMFLOW_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const REPEATS = Number(process.env.BENCH_STREAM_PAIRS ?? 5);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * q))];
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

function flowIn(dir: string, stream: string, sink: 'nats' | 'jsonl'): string {
  writeFileSync(
    path.join(dir, 'fns.mjs'),
    'export function stamp(r) { return { id: r.id, t: r.t, user: r.user, amount: r.amount * 2 }; }\n',
  );
  const file = path.join(dir, `${sink}.yaml`);
  writeFileSync(
    file,
    `name: bench_stream_${sink}
${sink === 'nats' ? `stores:\n  out: { kind: nats, url: "${NATS}", subject: "${stream}.out.{type}" }\ntypes:\n  Stamped: { store: out }\n` : ''}streams:
  items: { type: Item }
functions:
  - { name: stamp, module: ./fns.mjs, input: [Item], output: [Stamped] }
`,
  );
  return file;
}

async function main(): Promise<void> {
  const handle = await connectNats(NATS);
  const { nc, jsm, jetstream } = handle;
  const js = jetstream.jetstream(nc);
  const stream = `BENCH_STREAM_${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-bench-stream-'));
  const provider = new LocalProvider();
  const record = (id: number) => ({ id, t: Date.now(), user: `u${id % 1000}`, amount: id % 97 });
  try {
    // 1. Latency at a fixed rate.
    const latencies: number[] = [];
    const sub = nc.subscribe(`${stream}.out.Stamped`, {
      callback: (_error, msg) => {
        const out = msg.json<{ t: number }>();
        latencies.push(Date.now() - out.t);
      },
    });
    const natsFlow = await loadFlow(flowIn(dir, stream, 'nats'));
    const groups = planGroups(natsFlow.template);
    const rprs = fitGroupRprs(ruleRprs(natsFlow.template, 80), groups, 1);
    const total = RATE * SECONDS;
    let started = false;
    const controller = new AbortController();
    const run = executeDataflow(
      {
        flow: natsFlow,
        rprs,
        groups,
        out_dir: path.join(dir, 'out-latency'),
        inputs: { items: `${NATS}/${stream}?subject=${stream}.in.latency&start=new` },
        live: { max_records: total },
      },
      {
        provider,
        cold: true,
        signal: controller.signal,
        onEvent: (e) => {
          if (e === 'live') started = true;
        },
      },
    );
    // Publish once the run reads (its consumer starts at new messages).
    while (!started) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      void js.publish(`${stream}.in.latency`, JSON.stringify(record(i)));
    }
    const latencyStatus = await run;
    await nc.flush();
    await new Promise((r) => setTimeout(r, 500));
    sub.unsubscribe();
    if (latencyStatus.outcome !== 'succeeded' || latencies.length < total)
      throw new Error(
        `latency run: ${latencyStatus.outcome}, ${latencies.length}/${total} outputs (${latencyStatus.error?.message ?? ''})`,
      );

    // 2. Highest sustained rate: a stored backlog, bare loop vs the flow.
    const subject = `${stream}.in.backlog`;
    for (let i = 0; i < RECORDS; i += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, RECORDS - i) }, (_, k) =>
          js.publish(subject, JSON.stringify(record(i + k))),
        ),
      );
    // The strongest simple loop: the callback form (no await per message), parse, ack.
    let checksum = 0;
    const decoder = new TextDecoder();
    const bareRun = async (name: string): Promise<number> => {
      await jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: jetstream.AckPolicy.Explicit,
        filter_subject: subject,
        max_ack_pending: 20_000,
      });
      const consumer = await js.consumers.get(stream, name);
      let count = 0;
      let start = 0;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const messages = await consumer.consume({
        max_messages: 512,
        callback: (m) => {
          if (count === 0) start = performance.now();
          const r = JSON.parse(decoder.decode(m.data)) as { amount: number };
          checksum += r.amount * 2;
          m.ack();
          if (++count === RECORDS) done();
        },
      });
      await finished;
      await nc.flush();
      const seconds = (performance.now() - start) / 1000;
      await messages.close();
      return RECORDS / seconds;
    };

    const fileFlow = await loadFlow(flowIn(dir, stream, 'jsonl'));
    const fileRprs = fitGroupRprs(ruleRprs(fileFlow.template, 80), groups, 2);
    let commits = 0;
    const flowRun = async (group: string): Promise<number> => {
      let start = 0;
      const status = await executeDataflow(
        {
          flow: fileFlow,
          rprs: fileRprs,
          groups,
          out_dir: path.join(dir, `out-${group}`),
          inputs: { items: `${NATS}/${stream}?subject=${subject}&group=${group}` },
          live: { max_records: RECORDS },
        },
        {
          provider,
          cold: true,
          onLiveBatch: () => {
            if (start === 0) start = performance.now();
          },
        },
      );
      const seconds = (performance.now() - start) / 1000;
      if (status.outcome !== 'succeeded' || status.records.out !== RECORDS)
        throw new Error(
          `rate run: ${status.outcome}, ${status.records.out}/${RECORDS} records out`,
        );
      commits = status.live?.commits ?? 0;
      return RECORDS / seconds;
    };
    // Pairs in alternating order (bare first, then the flow first, …), each on its own
    // durable consumer of the same stored records: one pair's two rates swing with what
    // else the machine does, so the figures are medians over the pairs.
    const bareRates: number[] = [];
    const flowRates: number[] = [];
    for (let pair = 0; pair < REPEATS; pair++) {
      if (pair % 2 === 0) {
        bareRates.push(await bareRun(`bare${pair}`));
        flowRates.push(await flowRun(`flow${pair}`));
      } else {
        flowRates.push(await flowRun(`flow${pair}`));
        bareRates.push(await bareRun(`bare${pair}`));
      }
    }
    const median = (xs: number[]): number => quantile(xs, 0.5);
    const pairRatios = bareRates.map((bare, i) => flowRates[i] / bare);
    const bareRate = median(bareRates);
    const flowRate = median(flowRates);
    console.log(
      `latency at ${RATE}/s: p50 ${r1(quantile(latencies, 0.5))} ms, p99 ${r1(quantile(latencies, 0.99))} ms (${latencies.length} records)`,
    );
    console.log(
      `sustained: bare consume/parse/ack ${Math.round(bareRate)}/s (checksum ${checksum}), warmflow ${Math.round(flowRate)}/s (${commits} commits in the last run; ${REPEATS} pairs, per-pair ratios ${pairRatios.map((r) => r.toFixed(2)).join(' ')})`,
    );
    console.log(
      JSON.stringify({
        rate: RATE,
        latency_ms_p50: r1(quantile(latencies, 0.5)),
        latency_ms_p99: r1(quantile(latencies, 0.99)),
        records: RECORDS,
        bare_records_per_s: Math.round(bareRate),
        warmflow_records_per_s: Math.round(flowRate),
        ratio: Math.round(median(pairRatios) * 100) / 100,
        pairs: REPEATS,
        ratio_range: [
          Math.round(Math.min(...pairRatios) * 100) / 100,
          Math.round(Math.max(...pairRatios) * 100) / 100,
        ],
      }),
    );
  } finally {
    await provider.close();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
