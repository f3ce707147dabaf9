/**
 * bench:predict, sandbox mode: each function node of a run is measured in its own child
 * process (`measure-runner.ts`) streaming its input JSONL,
 * parsing it, calling the function with in-memory keyed state and the flow's seed rows,
 * serializing outputs to a file for the next node; it reports CPU µs per record
 * (process.cpuUsage) and peak RSS (getrusage maxrss). It measures function + JSON I/O +
 * state in a process of its own — not the engine's chaining, threads and transport.
 */
import { mkdtemp, readFile, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { writeExampleData } from '../examples/generate.js';
import { observationsFromStatus } from '../src/history/observations-from-status.js';
import type { HistoryStore, RunRecord } from '../src/history/history-store.js';
import type { NodeCompletion } from '../src/execute/completion-status.js';
import { profile } from '../src/profiler/profile.js';
import type { Dcp } from '../src/profiler/dcp.js';
import type { LoadedFlow } from '../src/template/load-flow.js';
import { ruleRprs } from '../src/predictor/rule-rprs.js';
import { templateFingerprint } from '../src/history/template-fingerprint.js';
import { seedLookups } from '../src/predictor/calibration/calibrate-flow.js';
import { functionFingerprint } from '../src/predictor/learning/function-fingerprint.js';
import { topologicalOrder } from '../src/predictor/rates/dag-rates.js';
import { measureNode, type MeasureResult } from './measure-node.js';

export interface MeasuredRun {
  dir: string;
  flow: LoadedFlow;
  dcps: Record<string, Dcp>;
  nodes: Map<string, MeasureResult>;
}

/** Generates `records` of an example into a folder and runs every function node on it, measured. */
export async function measuredRun(
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
    const result = await measureNode(
      {
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
      300_000,
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
export async function record(
  history: HistoryStore,
  run: MeasuredRun,
  index: number,
): Promise<void> {
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
    template_fingerprint: templateFingerprint(run.flow.template),
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
