/**
 * The sandbox child: a short-lived process (forked with `--expose-gc`, and
 * `--import tsx` for TypeScript) that loads one user module and calibrates it on a sample. It
 * takes one request over IPC, replies once and exits, so whatever the function
 * leaks or breaks dies with it.
 */
import { pathToFileURL } from 'node:url';
import type { UserFunction } from '../../template/function-api.js';
import { SandboxState, emitted, keyOf } from './sandbox-context.js';
import type { CalibrateRequest, CalibrateResult, SandboxReply } from './sandbox-protocol.js';

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
    // The median repetition: a repetition that a GC pause or another process's burst on a
    // shared core lands in does not move it, as it would move a mean.
    const times: number[] = [];
    let cpu = 0;
    while (cpu < request.minCpuMsPerBucket * 1000 && times.length < 200) {
      if (Date.now() - started > request.timeBudgetMs) {
        timedOut = true;
        break;
      }
      const time = await rep();
      times.push(time);
      cpu += time;
    }
    const reps = times.length;
    if (reps === 0) break;
    times.sort((x, y) => x - y);
    const median =
      reps % 2 === 1 ? times[(reps - 1) / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
    const avgSize = slice.reduce((s, r) => s + r.size, 0) / slice.length;
    buckets.push({
      avg_size: avgSize,
      cpu_us: median / slice.length,
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

process.once('message', (message: CalibrateRequest) => {
  calibrate(message).then(
    (result) => reply({ ok: true, result }),
    (error: unknown) =>
      reply({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

function reply(message: SandboxReply<unknown>): void {
  process.send!(message, () => process.disconnect());
}
