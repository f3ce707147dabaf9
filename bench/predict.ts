/**
 * `npm run bench:predict`: how well the predictor foresees what nodes really use.
 *
 * For each example flow it generates data at several sizes (the generators scale key
 * cardinality with size), runs every function node on it as a measured workload,
 * records those runs in a fresh history, then predicts a held-out run with more
 * records and more keys — from calibration alone, from calibration + the history of
 * five runs, and with a static baseline that sizes every node the same — and compares
 * with what the held-out run measures.
 *
 * What a "measured run" is here: each function node runs in its own child process (the
 * predictor's sandbox runner in `measure` mode) that streams its input JSONL, parses
 * it, calls the function with in-memory keyed state and the flow's seed rows for
 * lookups, serializes its outputs to a file for the next node, and reports CPU µs per
 * record (process.cpuUsage over the run) and peak RSS (getrusage maxrss). It measures
 * the function, its JSON in and out and its state, in a process of its own — not the
 * execution engine's transport between resources, which this bench does not run.
 *
 * Last line: one JSON object with the median absolute percentage errors (fractions).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeExampleData } from '../examples/generate.js';
import { openHistory } from '../src/history/open-history.js';
import { observationsFromStatus } from '../src/history/observations-from-status.js';
import type { HistoryStore, RunRecord } from '../src/history/history-store.js';
import type { NodeCompletion } from '../src/execute/completion-status.js';
import { profile } from '../src/profiler/profile.js';
import type { Dcp } from '../src/profiler/dcp.js';
import { loadFlow, type LoadedFlow } from '../src/template/load-flow.js';
import { predict } from '../src/predictor/predict.js';
import { ruleRprs } from '../src/predictor/rule-rprs.js';
import { runInSandbox } from '../src/predictor/calibration/sandbox.js';
import { seedLookups } from '../src/predictor/calibration/calibrate-flow.js';
import { functionFingerprint } from '../src/predictor/learning/function-fingerprint.js';
import { topologicalOrder } from '../src/predictor/rates/dag-rates.js';
import { defaultFunctionModel } from '../src/predictor/model/defaults.js';
import { cpuUsPerRecord } from '../src/predictor/model/function-model.js';
import type { MeasureResult } from '../src/predictor/calibration/sandbox-protocol.js';
import type { PredictionResult } from '../src/predictor/prediction.js';

const TRAINING_SIZES = [4_000, 7_000, 10_000, 14_000, 18_000];
const HELD_OUT_SIZE = Number(process.env.BENCH_PREDICT_HELD_OUT ?? 48_000);
const EXAMPLES = ['clickstream', 'iot', 'orders'];

/** The repo root: the folder above this file (bench/ from source, dist/bench/ compiled) holding examples/. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'examples', 'clickstream', 'flow.yaml'))) {
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error('cannot find examples/ above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

interface MeasuredRun {
  dir: string;
  flow: LoadedFlow;
  dcps: Record<string, Dcp>;
  nodes: Map<string, MeasureResult>;
}

/** Generates `records` of an example into a folder and runs every function node on it, measured. */
async function measuredRun(
  base: LoadedFlow,
  example: string,
  records: number,
  root: string,
): Promise<MeasuredRun> {
  const dir = await mkdtemp(path.join(root, `${example}-${records}-`));
  await writeExampleData(example, path.join(dir, 'data'), records);
  const flow: LoadedFlow = { ...base, dir };
  const byType = new Map<string, string[]>();
  const dcps: Record<string, Dcp> = {};
  for (const [name, stream] of Object.entries(flow.spec.streams ?? {})) {
    const file = path.resolve(dir, stream.source!);
    byType.set(stream.type, [...(byType.get(stream.type) ?? []), file]);
    dcps[name] = await profile(file);
  }
  const nodes = new Map<string, MeasureResult>();
  const seeds = new Map();
  for (const id of topologicalOrder(flow.template)) {
    const fn = flow.functions.find((f) => f.name === id);
    if (fn === undefined || fn.module === null) continue;
    const input = await oneFile(byType.get(fn.input[0]) ?? [], path.join(dir, `in-${id}.jsonl`));
    const outputFile = path.join(dir, `out-${id}.jsonl`);
    const result = await runInSandbox(
      {
        kind: 'measure',
        module: fn.module,
        export: fn.export,
        file: input,
        key: fn.key,
        node: id,
        template: flow.template.name,
        batchSize: 1000,
        inFlight: 4,
        outputFile,
        lookups: await seedLookups(flow, fn.input.slice(1), seeds),
      },
      { timeoutMs: 300_000 },
    );
    nodes.set(id, result);
    for (const type of fn.output) byType.set(type, [...(byType.get(type) ?? []), outputFile]);
  }
  return { dir, flow, dcps, nodes };
}

async function oneFile(files: string[], target: string): Promise<string> {
  if (files.length === 1) return files[0];
  await writeFile(target, '');
  for (const f of files) await appendFile(target, await readFile(f));
  return target;
}

/** Records a measured run in history as the execution engine would: a CompletionStatus and its observations. */
async function record(history: HistoryStore, run: MeasuredRun, index: number): Promise<void> {
  const at = new Date(Date.UTC(2026, 10, 1, 0, index)).toISOString();
  const nodes: NodeCompletion[] = [...run.nodes].map(([id, m]) => ({
    node_id: id,
    kind: 'function',
    records_in: m.records_in,
    records_out: m.records_out,
    dead_lettered: m.errors,
    cpu_seconds: (m.cpu_us_per_record * m.records_in) / 1e6,
    cpu_us_per_record: m.cpu_us_per_record,
    peak_memory_bytes: m.peak_memory_bytes,
    state_keys: m.state_keys,
    records_per_s: m.records_in / Math.max(0.001, m.wall_ms / 1000),
    rpr: null,
    resource_id: null,
    warm: false,
  }));
  const dcp = Object.values(run.dcps)[0];
  const id = `bench-${run.flow.template.name}-${index}`;
  const total = [...run.nodes.values()].reduce((s, m) => s + m.wall_ms, 0);
  const rec: RunRecord = {
    execution_id: id,
    tenant: 'bench',
    template: run.flow.template.name,
    template_fingerprint: run.flow.template.name,
    recorded_at: at,
    dcp,
    rprs: ruleRprs(run.flow.template),
    status: {
      execution_id: id,
      template: run.flow.template.name,
      tenant: 'bench',
      outcome: 'succeeded',
      provisioning: 'on_demand',
      started_at: at,
      finished_at: at,
      timings: { request_to_first_record_ms: null, request_to_ready_ms: 0, total_ms: total },
      records: { in: dcp.volume.records, out: 0, dead_lettered: 0 },
      dead_letter_file: null,
      nodes,
    },
  };
  const fingerprints: Record<string, string | null> = {};
  const sizes: Record<string, number> = {};
  for (const [nodeId, m] of run.nodes) {
    fingerprints[nodeId] = await functionFingerprint(
      run.flow.functions.find((f) => f.name === nodeId)!.module,
    );
    sizes[nodeId] = m.avg_input_size;
  }
  await history.record(rec, observationsFromStatus(rec, { fingerprints, avgRecordSize: sizes }));
}

interface Score {
  flow: string;
  node: string;
  measured: { cpu_us: number; peak_mb: number; keys: number };
  calibration: { cpu_us: number; peak_mb: number; memory_gb: number };
  history: { cpu_us: number; peak_mb: number; memory_gb: number };
  static: { cpu_us: number; peak_mb: number };
}

const ape = (predicted: number, measured: number) => Math.abs(predicted - measured) / measured;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const short = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'warmflow-bench-predict-'));
  const scores: Score[] = [];
  try {
    for (const example of EXAMPLES) {
      const base = await loadFlow(path.join(repoRoot(), 'examples', example, 'flow.yaml'));
      await mkdir(path.join(root, example), { recursive: true });
      const history = await openHistory(path.join(root, `${example}-history.db`));
      try {
        for (const [i, size] of TRAINING_SIZES.entries()) {
          const run = await measuredRun(base, example, size, root);
          await record(history, run, i);
          console.error(`${example}: recorded a run of ${size} records`);
        }
        const held = await measuredRun(base, example, HELD_OUT_SIZE, root);
        const [first, ...rest] = Object.values(held.dcps);
        const common = {
          flow: held.flow,
          dcp: first,
          dcps: Object.fromEntries(Object.entries(held.dcps)),
        };
        void rest;
        const calibrated = await predict({ ...common, calibrate: { sampleSize: 2000 } });
        const learned = await predict({
          ...common,
          calibrate: { sampleSize: 2000 },
          history,
          tenant: 'bench',
        });
        const staticCpu = cpuUsPerRecord(defaultFunctionModel(), first.volume.avg_record_size);
        for (const [id, m] of held.nodes) {
          const pick = (r: PredictionResult) => {
            const n = r.nodes.find((x) => x.node_id === id)!;
            return {
              cpu_us: n.cpu_us_per_record_run,
              peak_mb: n.memory.total / 2 ** 20,
              memory_gb: n.rpr.memory_gb,
            };
          };
          scores.push({
            flow: example,
            node: id,
            measured: {
              cpu_us: m.cpu_us_per_record,
              peak_mb: m.peak_memory_bytes / 2 ** 20,
              keys: m.state_keys,
            },
            calibration: pick(calibrated),
            history: pick(learned),
            static: { cpu_us: staticCpu, peak_mb: 0.5 * 1024 },
          });
        }
      } finally {
        await history.close();
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  for (const s of scores) {
    console.log(
      `${s.flow}/${s.node}: measured ${s.measured.cpu_us.toFixed(2)} µs/rec, ${s.measured.peak_mb.toFixed(1)} MiB (${s.measured.keys} keys)` +
        ` | calibration ${s.calibration.cpu_us.toFixed(2)} µs, ${s.calibration.peak_mb.toFixed(1)} MiB → ${s.calibration.memory_gb} GiB` +
        ` | history ${s.history.cpu_us.toFixed(2)} µs, ${s.history.peak_mb.toFixed(1)} MiB → ${s.history.memory_gb} GiB`,
    );
  }
  const under = (key: 'calibration' | 'history') =>
    Math.max(
      0,
      ...scores.map(
        (s) => (s.measured.peak_mb / 1024 - s[key].memory_gb) / (s.measured.peak_mb / 1024),
      ),
    );
  const result = {
    nodes: scores.length,
    training_runs: TRAINING_SIZES.length,
    held_out_records: HELD_OUT_SIZE,
    cpu_mape_calibration: short(
      median(scores.map((s) => ape(s.calibration.cpu_us, s.measured.cpu_us))),
    ),
    mem_mape_calibration: short(
      median(scores.map((s) => ape(s.calibration.peak_mb, s.measured.peak_mb))),
    ),
    cpu_mape_history: short(median(scores.map((s) => ape(s.history.cpu_us, s.measured.cpu_us)))),
    mem_mape_history: short(median(scores.map((s) => ape(s.history.peak_mb, s.measured.peak_mb)))),
    cpu_mape_static: short(median(scores.map((s) => ape(s.static.cpu_us, s.measured.cpu_us)))),
    mem_mape_static: short(median(scores.map((s) => ape(s.static.peak_mb, s.measured.peak_mb)))),
    worst_mem_underprovision: short(under('history')),
    worst_mem_underprovision_calibration: short(under('calibration')),
    measured_by:
      'sandbox measure-mode child per node (function + JSON I/O + state; not the engine transport)',
  };
  console.log(JSON.stringify(result));
}

await main();
