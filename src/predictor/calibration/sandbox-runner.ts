/**
 * The sandbox child: a short-lived process (forked with `--expose-gc`, and
 * `--import tsx` for TypeScript) that loads one user module and measures it. It
 * takes one request over IPC, replies once and exits, so whatever the function
 * leaks or breaks dies with it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { UserFunction } from '../../template/function-api.js';
import { SandboxState, emitted, keyOf } from './sandbox-context.js';
import type {
  CalibrateRequest,
  CalibrateResult,
  MeasureRequest,
  MeasureResult,
  SandboxReply,
} from './sandbox-protocol.js';

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
};

const cpuNow = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** Started by a server for tenant code: errors never quote what the module's file holds. */
const confined = process.argv.includes('--confined');

async function load(module: string, name: string): Promise<UserFunction> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  } catch (error) {
    if (!confined) throw error;
    // "x is not defined" would echo a word of the file (a .env's secret): say only what kind of failure.
    const kind = error instanceof Error ? error.name : 'Error';
    // The cause stays in this process: only the message crosses to the server.
    throw new Error(`module could not be loaded (${kind})`, { cause: error });
  }
  const fn =
    loaded[name] ??
    (loaded.default as Record<string, unknown> | undefined)?.[name] ??
    loaded.default;
  if (typeof fn !== 'function') throw new Error(`module ${module} exports no function "${name}"`);
  return fn as UserFunction;
}

async function calibrate(request: CalibrateRequest): Promise<CalibrateResult> {
  const fn = await load(request.module, request.export);
  const started = Date.now();
  const records = request.records;
  const lines = records.map((r) => JSON.stringify(r) ?? 'null');
  const n = records.length;
  gc();
  const base = process.memoryUsage();

  // Heap a parsed record occupies: parse the sample again and hold it.
  let heap0 = process.memoryUsage().heapUsed;
  const held: unknown[] = lines.map((l) => JSON.parse(l));
  gc();
  const recordHeap =
    n > 0 ? Math.max(0, (process.memoryUsage().heapUsed - heap0) / held.length) : 0;
  held.length = 0;

  // Pass 1: fresh state, outputs counted but not kept, heap growth is what state keeps.
  let errors = 0;
  let firstError: string | undefined;
  let outCount = 0;
  let outBytes = 0;
  const state = new SandboxState(request.lookups);
  gc();
  heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const cold0 = cpuNow();
  for (const record of records) {
    const key = keyOf(record, request.key);
    try {
      for (const o of emitted(
        await fn(record, state.context(request.node, request.template, key, record)),
      )) {
        outCount += 1;
        outBytes += (JSON.stringify(o) ?? '').length;
      }
    } catch (error) {
      errors += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  const coldCpu = cpuNow() - cold0;
  gc();
  const stateGrowth = process.memoryUsage().heapUsed - heap0;
  const rssGrowth = process.memoryUsage().rss - rss0;
  const distinctKeys = state.size;

  // Pass 2: the same work warm, keeping outputs for downstream nodes. What pass 1 cost
  // beyond it is the one-off cost of a cold start (module init, JIT compilation).
  const outputs: unknown[] = [];
  const fresh = new SandboxState(request.lookups);
  const warm0 = cpuNow();
  for (const record of records) {
    try {
      const ctx = fresh.context(request.node, request.template, keyOf(record, request.key), record);
      for (const o of emitted(await fn(record, ctx))) {
        JSON.stringify(o);
        if (outputs.length < request.maxOutputs) outputs.push(o);
      }
    } catch {
      // counted in pass 1
    }
  }
  const warmCpu = cpuNow() - warm0;

  // Pass 3: CPU per record by size bucket, the function alone: the engine chains a flow's
  // nodes in one thread and hands records over as objects, so parsing is the source's
  // cost and serializing the sink's. Each repetition gets freshly parsed records (parsed
  // outside the timed part, so a function that mutates its input sees new ones).
  const order = lines.map((l, i) => ({ i, size: l.length })).sort((a, b) => a.size - b.size);
  const bucketCount = n >= 400 ? 4 : n >= 100 ? 2 : 1;
  const buckets: CalibrateResult['buckets'] = [];
  let timedOut = false;
  for (let b = 0; b < bucketCount && n > 0; b++) {
    const slice = order.slice(
      Math.floor((b * n) / bucketCount),
      Math.floor(((b + 1) * n) / bucketCount),
    );
    const rep = async (): Promise<number> => {
      const timing = new SandboxState(request.lookups);
      const fresh = slice.map(({ i }) => JSON.parse(lines[i]) as unknown);
      const t0 = cpuNow();
      for (const record of fresh) {
        try {
          const ctx = timing.context(
            request.node,
            request.template,
            keyOf(record, request.key),
            record,
          );
          await fn(record, ctx);
        } catch {
          // a throwing record still costs what it cost
        }
      }
      return cpuNow() - t0;
    };
    await rep(); // untimed: the bucket's record shapes reach optimized code first
    let reps = 0;
    let cpu = 0;
    while (cpu < request.minCpuMsPerBucket * 1000 && reps < 200) {
      if (Date.now() - started > request.timeBudgetMs) {
        timedOut = true;
        break;
      }
      cpu += await rep();
      reps += 1;
    }
    if (reps === 0) break;
    const avgSize = slice.reduce((s, r) => s + r.size, 0) / slice.length;
    buckets.push({
      avg_size: avgSize,
      cpu_us: cpu / (reps * slice.length),
      records: slice.length,
      reps,
    });
  }

  const result: CalibrateResult = {
    records: n,
    errors,
    outputs_count: outCount,
    outputs,
    avg_input_size: n > 0 ? lines.reduce((s, l) => s + l.length, 0) / n : 0,
    avg_output_size: outCount > 0 ? outBytes / outCount : 0,
    distinct_keys: distinctKeys,
    base_rss_bytes: base.rss,
    base_heap_bytes: base.heapUsed,
    record_heap_bytes: recordHeap,
    state_heap_growth_bytes: stateGrowth,
    rss_growth_bytes: rssGrowth,
    buckets,
    cold_extra_cpu_us: Math.max(0, coldCpu - warmCpu),
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    timed_out: timedOut,
  };
  if (firstError !== undefined) result.first_error = firstError;
  return result;
}

async function measure(request: MeasureRequest): Promise<MeasureResult> {
  const fn = await load(request.module, request.export);
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
        const ctx = state.context(
          request.node,
          request.template,
          keyOf(record, request.key),
          record,
        );
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

process.once('message', (message: CalibrateRequest | MeasureRequest) => {
  const work = message.kind === 'calibrate' ? calibrate(message) : measure(message);
  work.then(
    (result) => reply({ ok: true, result }),
    (error: unknown) =>
      reply({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

function reply(message: SandboxReply<unknown>): void {
  process.send!(message, () => process.disconnect());
}
