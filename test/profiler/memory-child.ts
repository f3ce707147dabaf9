/**
 * Child process of memory.test.ts: profiles N generated records of unbounded
 * cardinality (unique ids, random floats, unique timestamps and strings) and prints
 * the peak heap it saw as one JSON line. Run under --max-old-space-size so a heap
 * that grew with the input would crash the process rather than pass unnoticed, and with
 * --expose-gc: each sample is taken after a full collection, so it is the heap the profiler
 * retains, not whatever garbage the collector had not reached yet.
 */
import { Profiler } from '../../src/profiler/profiler.js';

const n = Number(process.argv[2] ?? 1_000_000);
let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
  return (seed >>> 0) / 4294967296;
};
const kinds = ['view', 'click', 'buy'];
const profiler = new Profiler();
let peak = 0;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const retainedHeap = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};
const started = Date.now();
for (let i = 0; i < n; i++) {
  profiler.add(
    {
      id: `user-${i}-${Math.floor(rnd() * 1e9)}`,
      seq: i,
      value: rnd() * 1e6 - 5e5,
      ts: 1_700_000_000_000 + i,
      kind: kinds[i % 3],
      nested: { a: rnd(), b: `k${i % 5000}` },
      list: [i, `e${i}`],
    },
    150,
  );
  if (i % 50_000 === 0) peak = Math.max(peak, retainedHeap());
}
const dcp = profiler.snapshot();
peak = Math.max(peak, retainedHeap());
console.log(
  JSON.stringify({
    records: dcp.volume.records,
    fields: Object.keys(dcp.fields).length,
    id_distinct: dcp.cardinality.id,
    peak_heap_mb: Math.round((peak / 1024 ** 2) * 10) / 10,
    ms: Date.now() - started,
  }),
);
