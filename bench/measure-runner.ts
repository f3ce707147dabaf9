/**
 * The child bench:predict's sandbox mode forks per function node (`--import tsx`): it runs one
 * function over a JSONL file as a worker would (batches, `inFlight` batches of parsed records
 * kept alive, in-memory keyed state and the flow's seed rows, outputs serialized to a file for
 * the next node) and replies once with what it used: CPU µs per record (process.cpuUsage) and
 * peak RSS (getrusage maxrss). It takes one request over IPC and exits.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadFunction } from '../src/worker/load-function.js';
import { SandboxState, emitted, keyOf } from '../src/predictor/calibration/sandbox-context.js';
import type { MeasureRequest, MeasureResult } from './measure-node.js';

const cpuNow = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

async function measure(request: MeasureRequest): Promise<MeasureResult> {
  const fn = await loadFunction({
    node_id: request.node,
    module: request.module,
    export: request.export,
  });
  const state = new SandboxState(request.lookups);
  const sink = request.outputFile ? createWriteStream(request.outputFile) : null;
  const started = Date.now();
  const cpu0 = cpuNow();
  let recordsIn = 0;
  let recordsOut = 0;
  let errors = 0;
  let inBytes = 0;
  let outBytes = 0;
  // Keep `inFlight` parsed batches alive, as a worker with several batches in flight does.
  const window: unknown[][] = [];
  let batch: unknown[] = [];
  const run = async (records: unknown[]): Promise<void> => {
    window.push(records);
    if (window.length > request.inFlight) window.shift();
    let text = '';
    for (const record of records) {
      try {
        const key = keyOf(record, request.key);
        const ctx = state.context(request.node, request.template, key, record);
        for (const o of emitted(await fn(record, ctx))) {
          const line = JSON.stringify(o);
          recordsOut += 1;
          outBytes += line.length;
          text += line + '\n';
        }
      } catch {
        errors += 1;
      }
    }
    if (sink && text && !sink.write(text))
      await new Promise<void>((r) => sink.once('drain', () => r()));
  };
  const lines = createInterface({ input: createReadStream(request.file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    recordsIn += 1;
    inBytes += line.length;
    try {
      batch.push(JSON.parse(line));
    } catch {
      errors += 1; // a malformed line is dead-lettered, as the engine does
      continue;
    }
    if (batch.length >= request.batchSize) {
      await run(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await run(batch);
  const cpu = cpuNow() - cpu0;
  if (sink) await new Promise<void>((resolve) => sink.end(resolve));
  return {
    records_in: recordsIn,
    records_out: recordsOut,
    errors,
    avg_input_size: recordsIn > 0 ? inBytes / recordsIn : 0,
    avg_output_size: recordsOut > 0 ? outBytes / recordsOut : 0,
    state_keys: state.size,
    cpu_us_per_record: recordsIn > 0 ? cpu / recordsIn : 0,
    peak_memory_bytes: process.resourceUsage().maxRSS * 1024,
    wall_ms: Date.now() - started,
  };
}

process.once('message', (request: MeasureRequest) => {
  measure(request).then(
    (result) => process.send!({ ok: true, result }, () => process.disconnect()),
    (error: unknown) =>
      process.send!(
        { ok: false, error: error instanceof Error ? error.message : String(error) },
        () => process.disconnect(),
      ),
  );
});
