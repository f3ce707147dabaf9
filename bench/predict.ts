/**
 * `npm run bench:predict`: how well the predictor foresees what nodes really use.
 *
 * For each example flow it generates data at five sizes (the generators scale key
 * cardinality with size), runs them, records them in a fresh history, then predicts a
 * held-out run with more records and more keys — from calibration alone, from
 * calibration + the five runs of history, and with a static baseline that sizes every
 * node the same (default coefficients, 0.5 GiB) and with the naive baseline any operator
 * could apply without warmflow (the last run, its per-record CPU as measured and its peak
 * memory scaled by the input size) — and compares with what that run
 * measures: CPU per function node; peak memory per node in sandbox mode, per resource
 * (the sum of its nodes' predictions against its measured peak) in engine mode, where
 * co-located nodes all report their resource's peak.
 *
 * `BENCH_PREDICT_MODE=engine` (default) runs with the execution engine (`runFlow`, see
 * predict-engine.ts); `sandbox` measures each node in its own child process instead
 * (predict-sandbox.ts). `BENCH_PREDICT_EXAMPLES`, `BENCH_PREDICT_HELD_OUT` narrow it;
 * `BENCH_PREDICT_KEEP=1` keeps its histories and data to study offline.
 *
 * Last line: one JSON object with median absolute percentage errors (fractions) and the
 * worst memory under-provisioning (largest shortfall of provisioned against measured).
 * `cpu_mape_*_resource` (engine mode) score the CPU of each resource's function nodes
 * together: the engine measures CPU per process and splits it over co-located nodes by
 * their busy time, a split that GC pauses landing inside one node's batches make noisy.
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { openHistory } from '../src/history/open-history.js';
import { profile } from '../src/profiler/profile.js';
import type { Dcp } from '../src/profiler/dcp.js';
import { loadFlow } from '../src/template/load-flow.js';
import { predict } from '../src/predictor/predict.js';
import { readSample } from '../src/sources/read-sample.js';
import { defaultFunctionModel } from '../src/predictor/model/defaults.js';
import { cpuUsPerRecord } from '../src/predictor/model/function-model.js';
import type { PredictionResult } from '../src/predictor/prediction.js';
import { repoRoot, type Score } from './predict-common.js';
import { bootstrap90, median, short } from './predict-stats.js';
import { engineRun, generate } from './predict-engine.js';
import { planGroups } from '../src/execute/plan.js';
import { calibrateOnEngine } from '../src/flow/calibrate-on-engine.js';
import { latestCalibration } from '../src/history/record-run.js';
import { templateFingerprint } from '../src/history/template-fingerprint.js';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import type { EngineCalibration } from '../src/predictor/calibration/engine-calibration.js';
import { measuredRun, record } from './predict-sandbox.js';
import type { CompletionStatus } from '../src/execute/completion-status.js';

const TRAINING_SIZES = [4_000, 7_000, 10_000, 14_000, 18_000];
const HELD_OUT_SIZE = Number(process.env.BENCH_PREDICT_HELD_OUT ?? 48_000);
const EXAMPLES = (process.env.BENCH_PREDICT_EXAMPLES ?? 'clickstream,iot,orders').split(',');
const MODE = process.env.BENCH_PREDICT_MODE === 'sandbox' ? 'sandbox' : 'engine';
/** Independent repeats of the whole procedure, each with a fresh history. */
const REPEATS = positive('BENCH_PREDICT_REPEATS', 3);
/** Keep the temporary folder (histories, generated data, `scores.json`) to study offline. */
const KEEP = process.env.BENCH_PREDICT_KEEP === '1';
/** Measured runs of each held-out input; the per-node median is what is predicted. */
const MEASURES = positive('BENCH_PREDICT_MEASURES', 3);

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const ape = (predicted: number, measured: number) => Math.abs(predicted - measured) / measured;
/** Each value's distance from the values' median, relative to it. */
const spread = (xs: number[]) => {
  const m = median(xs);
  return m > 0 ? xs.map((x) => Math.abs(x - m) / m) : [];
};

/** CPU of all function nodes of one resource of a held-out run (µs), measured and predicted. */
interface ResourceCpu {
  flow: string;
  repeat: number;
  measured: number;
  calibration: number;
  history: number;
  static: number;
  naive: number;
}

interface Measured {
  cpu_us: number;
  peak_bytes: number;
  keys: number;
  runs_cpu_us: number[];
}

/** What one repeat of one example gave. */
interface ExampleResult {
  scores: Score[];
  resourceCpu: ResourceCpu[];
  /** Per function node: |one measured run − the median of the measured runs| / that median. */
  measurementSpread: number[];
}

/**
 * Scores one example's held-out input in one repeat: trains a fresh history, predicts, then
 * measures the held-out input `MEASURES` times and compares with the per-node medians.
 */
async function scoreExample(example: string, root: string, repeat: number): Promise<ExampleResult> {
  const resourceCpu: ResourceCpu[] = [];
  const flow = await loadFlow(path.join(repoRoot(), 'examples', example, 'flow.yaml'));
  const history = await openHistory(path.join(root, `${example}-${repeat}-history.db`));
  try {
    for (const [i, size] of TRAINING_SIZES.entries()) {
      if (MODE === 'engine')
        await engineRun(flow, await generate(flow, example, size, root), history);
      else await record(history, await measuredRun(flow, example, size, root), i);
      console.error(`${example}: recorded a ${MODE} run of ${size} records`);
    }
    const held = await generate(flow, example, HELD_OUT_SIZE, root);
    const dcps: Record<string, Dcp> = {};
    const samples: Record<string, unknown[]> = {};
    for (const [stream, file] of Object.entries(held.inputs)) {
      dcps[stream] = await profile(file);
      samples[stream] = await readSample(file, 2000);
    }
    const first = Object.values(dcps)[0];
    // The engine runs each connected group of nodes in one resource; told so, the
    // predictor counts a runtime base once per group.
    const groups = MODE === 'engine' ? planGroups(flow.template) : undefined;
    const common = {
      flow,
      dcp: first,
      dcps,
      calibrate: { samples, sampleSize: 2000 },
      ...(groups ? { groups } : {}),
    };
    // Engine mode calibrates as `warmflow run` does: the sandbox, then the sample on the engine.
    let engineCalibration: EngineCalibration | undefined;
    if (MODE === 'engine') {
      const provider = new LocalProvider();
      try {
        engineCalibration = await calibrateOnEngine(flow, {
          inputBytes: Object.fromEntries(
            Object.entries(held.inputs).map(([stream, file]) => [stream, statSync(file).size]),
          ),
          samples,
          groups: groups!,
          provider,
          tenant: 'bench',
        });
      } finally {
        await provider.close();
      }
    }
    const calibrated = await predict({
      ...common,
      ...(engineCalibration ? { engineCalibration } : {}),
    });
    // What `warmflow run` predicts after five runs: it stopped calibrating at three, so
    // history refines the engine calibration its first runs recorded.
    const stored = await latestCalibration(
      history,
      'bench',
      flow.template.name,
      templateFingerprint(flow.template),
    );
    const learned = await predict({
      ...common,
      calibrate: false,
      ...(stored ? { engineCalibration: stored } : {}),
      history,
      tenant: 'bench',
    });
    const staticCpu = cpuUsPerRecord(defaultFunctionModel(), first.volume.avg_record_size);
    // The naive baseline: the last run (the largest training size), scaled by input size.
    const [last] = await history.runs({ tenant: 'bench', template: flow.template.name, limit: 1 });
    const scale = HELD_OUT_SIZE / TRAINING_SIZES[TRAINING_SIZES.length - 1];
    const lastNode = (id: string) => last?.status.nodes.find((n) => n.node_id === id);
    const naiveCpu = (id: string) => lastNode(id)?.cpu_us_per_record ?? 0;
    const naivePeakMb = (ids: string[]) =>
      (Math.max(0, ...ids.map((id) => lastNode(id)?.peak_memory_bytes ?? 0)) * scale) / 2 ** 20;
    const pick = (r: PredictionResult, id: string) => {
      const n = r.nodes.find((x) => x.node_id === id)!;
      return {
        cpu_us: n.cpu_us_per_record_run,
        peak_mb: n.memory.total / 2 ** 20,
        memory_gb: n.rpr.memory_gb,
      };
    };
    const score = (id: string, m: Measured): Score => ({
      flow: example,
      repeat,
      node: id,
      measured: {
        cpu_us: m.cpu_us,
        peak_mb: m.peak_bytes / 2 ** 20,
        keys: m.keys,
        runs_cpu_us: m.runs_cpu_us,
      },
      calibration: pick(calibrated, id),
      history: pick(learned, id),
      static: { cpu_us: staticCpu, peak_mb: m.peak_bytes > 0 ? 0.5 * 1024 : 0 },
      naive: { cpu_us: naiveCpu(id), peak_mb: m.peak_bytes > 0 ? naivePeakMb([id]) : 0 },
    });

    if (MODE === 'sandbox') {
      const runs: Array<Map<string, { cpu: number; peak: number; keys: number }>> = [];
      for (let m = 0; m < MEASURES; m++) {
        const run = await measuredRun(flow, example, HELD_OUT_SIZE, root);
        runs.push(
          new Map(
            [...run.nodes].map(([id, r]) => [
              id,
              { cpu: r.cpu_us_per_record, peak: r.peak_memory_bytes, keys: r.state_keys },
            ]),
          ),
        );
      }
      const ids = [...runs[0].keys()];
      const of = (id: string, k: 'cpu' | 'peak' | 'keys') => runs.map((r) => r.get(id)![k]);
      return {
        scores: ids.map((id) =>
          score(id, {
            cpu_us: median(of(id, 'cpu')),
            peak_bytes: median(of(id, 'peak')),
            keys: median(of(id, 'keys')),
            runs_cpu_us: of(id, 'cpu'),
          }),
        ),
        resourceCpu,
        measurementSpread: ids.flatMap((id) => spread(of(id, 'cpu'))),
      };
    }
    // Engine: CPU per function node; memory per resource, whose nodes all report its peak.
    // The held-out input is run MEASURES times: what is predicted is each node's median.
    const statuses: CompletionStatus[] = [];
    for (let m = 0; m < MEASURES; m++) statuses.push(await engineRun(flow, held));
    const status = statuses[0];
    const measuredOf = (
      id: string,
      key: 'cpu_us_per_record' | 'peak_memory_bytes' | 'cpu_seconds',
    ) => statuses.map((s) => s.nodes.find((n) => n.node_id === id)?.[key] ?? 0);
    const measurementSpread: number[] = [];
    const scores = status.nodes
      .filter((n) => n.kind === 'function')
      .map((n) => {
        measurementSpread.push(...spread(measuredOf(n.node_id, 'cpu_us_per_record')));
        return score(n.node_id, {
          cpu_us: median(measuredOf(n.node_id, 'cpu_us_per_record')),
          peak_bytes: 0,
          keys: n.state_keys ?? 0,
          runs_cpu_us: measuredOf(n.node_id, 'cpu_us_per_record'),
        });
      });
    const byResource = new Map<string, string[]>();
    for (const n of status.nodes) {
      if (n.resource_id !== null)
        byResource.set(n.resource_id, [...(byResource.get(n.resource_id) ?? []), n.node_id]);
    }
    for (const ids of byResource.values()) {
      // CPU of the resource's function nodes together: each node's predicted µs/record
      // times the records it really got, against the CPU the resource measured for them.
      const fns = status.nodes.filter((n) => ids.includes(n.node_id) && n.kind === 'function');
      const total = (perRecord: (id: string) => number) =>
        fns.reduce((t, n) => t + perRecord(n.node_id) * n.records_in, 0);
      resourceCpu.push({
        flow: example,
        repeat,
        measured: median(
          statuses.map((s) =>
            s.nodes
              .filter((n) => fns.some((f) => f.node_id === n.node_id))
              .reduce((t, n) => t + n.cpu_seconds * 1e6, 0),
          ),
        ),
        calibration: total((id) => pick(calibrated, id).cpu_us),
        history: total((id) => pick(learned, id).cpu_us),
        static: total(() => staticCpu),
        naive: total(naiveCpu),
      });
      const peak = median(
        statuses.map((s) =>
          Math.max(
            ...s.nodes.filter((n) => ids.includes(n.node_id)).map((n) => n.peak_memory_bytes),
          ),
        ),
      );
      const sum = (r: PredictionResult) => {
        const nodes = r.nodes.filter((n) => ids.includes(n.node_id));
        return {
          cpu_us: 0,
          peak_mb: nodes.reduce((t, n) => t + n.memory.total, 0) / 2 ** 20,
          memory_gb: nodes.reduce((t, n) => t + n.rpr.memory_gb, 0),
        };
      };
      scores.push({
        flow: example,
        repeat,
        node: `resource(${ids.join('+')})`,
        measured: { cpu_us: 0, peak_mb: peak / 2 ** 20, keys: 0 },
        calibration: sum(calibrated),
        history: sum(learned),
        static: { cpu_us: 0, peak_mb: 0.5 * 1024 * ids.length },
        naive: { cpu_us: 0, peak_mb: naivePeakMb(ids) },
      });
    }
    return { scores, resourceCpu, measurementSpread };
  } finally {
    await history.close();
  }
}

type Method = 'calibration' | 'history' | 'static' | 'naive';
const METHODS: Method[] = ['calibration', 'history', 'static', 'naive'];

async function main(): Promise<void> {
  // The machine is shared: its 1-minute load average, sampled through the bench, goes
  // with the figures.
  const loads = [loadavg()[0]];
  const sampler = setInterval(() => loads.push(loadavg()[0]), 10_000);
  sampler.unref();
  const root = await mkdtemp(path.join(tmpdir(), 'warmflow-bench-predict-'));
  const previousHome = process.env.WARMFLOW_HOME;
  // The engine's local provider keeps its state under WARMFLOW_HOME: a fresh one per bench.
  process.env.WARMFLOW_HOME = path.join(root, 'home');
  const scores: Score[] = [];
  const resourceCpu: ResourceCpu[] = [];
  const measurementSpread: number[] = [];
  try {
    for (let repeat = 0; repeat < REPEATS; repeat++)
      for (const example of EXAMPLES) {
        const result = await scoreExample(example, root, repeat);
        scores.push(...result.scores);
        resourceCpu.push(...result.resourceCpu);
        measurementSpread.push(...result.measurementSpread);
      }
  } finally {
    clearInterval(sampler);
    loads.push(loadavg()[0]);
    if (previousHome === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = previousHome;
    if (KEEP) {
      await writeFile(path.join(root, 'scores.json'), JSON.stringify({ scores, resourceCpu }));
      console.error(`kept the histories, data and scores under ${root}`);
    } else await rm(root, { recursive: true, force: true });
  }
  for (const s of scores) {
    console.log(
      `#${s.repeat} ${s.flow}/${s.node}: measured ${s.measured.cpu_us.toFixed(2)} µs/rec` +
        (s.measured.runs_cpu_us && s.measured.runs_cpu_us.length > 1
          ? ` (runs ${s.measured.runs_cpu_us.map((x) => x.toFixed(2)).join(' ')})`
          : '') +
        `, ${s.measured.peak_mb.toFixed(1)} MiB (${s.measured.keys} keys)` +
        ` | calibration ${s.calibration.cpu_us.toFixed(2)} µs, ${s.calibration.peak_mb.toFixed(1)} MiB → ${s.calibration.memory_gb} GiB` +
        ` | history ${s.history.cpu_us.toFixed(2)} µs, ${s.history.peak_mb.toFixed(1)} MiB → ${s.history.memory_gb} GiB` +
        ` | naive ${s.naive.cpu_us.toFixed(2)} µs`,
    );
  }
  for (const r of resourceCpu)
    console.log(
      `#${r.repeat} ${r.flow}: resource CPU measured ${(r.measured / 1000).toFixed(1)} ms | calibration ${(r.calibration / 1000).toFixed(1)} ms | history ${(r.history / 1000).toFixed(1)} ms`,
    );
  const memScored = scores.filter((s) => s.measured.peak_mb > 0);
  const cpuScored = scores.filter((s) => s.measured.cpu_us > 0);
  const repeats = Array.from({ length: REPEATS }, (_, i) => i);
  // Each figure is the median of the errors pooled over every repeat; its spread is the
  // [lowest, highest] of the per-repeat medians.
  // ci90: a bootstrap 90 % interval of the pooled median (the scored items resampled 2000
  // times, a fixed seed): how far the figure could move with other nodes' luck alone, so
  // two runs of the bench whose intervals do not overlap differ for real.
  const figure = (errors: (repeat: number | undefined) => number[]) => ({
    value: short(median(errors(undefined))),
    ci90: bootstrap90(errors(undefined)).map(short),
    spread: [
      short(Math.min(...repeats.map((r) => median(errors(r))))),
      short(Math.max(...repeats.map((r) => median(errors(r))))),
    ],
  });
  const inRepeat = <T extends { repeat: number }>(xs: T[], r: number | undefined) =>
    r === undefined ? xs : xs.filter((x) => x.repeat === r);
  const under = (key: 'calibration' | 'history') => (s: Score) =>
    Math.max(0, (s.measured.peak_mb / 1024 - s[key].memory_gb) / (s.measured.peak_mb / 1024));
  const out: Record<string, unknown> = {
    mode: MODE,
    repeats: REPEATS,
    measured_runs_per_held_out: MEASURES,
    cpu_scored_nodes: cpuScored.length,
    memory_scored:
      MODE === 'engine' ? `${memScored.length} resources` : `${memScored.length} nodes`,
    training_runs: TRAINING_SIZES.length,
    held_out_records: HELD_OUT_SIZE,
    // 1-minute load average: at the start, at the end, and the median and highest of its
    // samples (every 10 s) while the bench ran.
    load: {
      start: short(loads[0]),
      end: short(loads[loads.length - 1]),
      median: short(median(loads)),
      max: short(Math.max(...loads)),
    },
  };
  const spreads: Record<string, number[]> = {};
  const intervals: Record<string, number[]> = {};
  const put = (key: string, f: { value: number; ci90: number[]; spread: number[] }) => {
    out[key] = f.value;
    spreads[key] = f.spread;
    intervals[key] = f.ci90;
  };
  for (const m of METHODS) {
    put(
      `cpu_mape_${m}`,
      figure((r) => inRepeat(cpuScored, r).map((s) => ape(s[m].cpu_us, s.measured.cpu_us))),
    );
    put(
      `mem_mape_${m}`,
      figure((r) => inRepeat(memScored, r).map((s) => ape(s[m].peak_mb, s.measured.peak_mb))),
    );
  }
  for (const m of METHODS)
    put(
      `cpu_mape_${m}_resource`,
      figure((r) => inRepeat(resourceCpu, r).map((x) => ape(x[m], x.measured))),
    );
  out.worst_mem_underprovision = short(Math.max(0, ...memScored.map(under('history'))));
  out.worst_mem_underprovision_calibration = short(
    Math.max(0, ...memScored.map(under('calibration'))),
  );
  // How far one measured run of a node lies from the median of its measured runs: the
  // machine's own noise, a floor under any per-node CPU error.
  out.cpu_measurement_noise = short(median(measurementSpread.filter((x) => x > 0)));
  out.spread = spreads;
  out.ci90 = intervals;
  console.log(JSON.stringify(out));
}

await main();
