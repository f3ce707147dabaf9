/**
 * `node dist/bench/predict-replay.js DIR`: predicts again, with the code as it is now, the
 * held-out runs of a bench:predict folder kept with `BENCH_PREDICT_KEEP=1` (engine mode),
 * from the same histories and the same stored engine calibrations, and scores the
 * predictions against the same measured runs (`scores.json`). A change to the model is
 * then compared with the one the bench ran on identical measurements, so the machine's
 * noise, which moves a whole bench run by ±0.1, cancels.
 *
 * Last line: one JSON object, `cpu_mape_history` now and as the bench recorded it, each
 * with its per-repeat medians, `change_ci90`, a bootstrap 90 % interval of the change of
 * that median (the nodes resampled together; negative: better now), and how many nodes'
 * errors fell and rose.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { openHistory } from '../src/history/open-history.js';
import { latestCalibration } from '../src/history/record-run.js';
import { templateFingerprint } from '../src/history/template-fingerprint.js';
import { planGroups } from '../src/execute/plan.js';
import { predict } from '../src/predictor/predict.js';
import type { Dcp } from '../src/profiler/dcp.js';
import { profile } from '../src/profiler/profile.js';
import { loadFlow } from '../src/template/load-flow.js';
import { repoRoot, type Score } from './predict-common.js';
import { bootstrap90, median, short } from './predict-stats.js';

const dir = process.argv[2];
if (dir === undefined)
  throw new Error('usage: predict-replay.js DIR (kept by BENCH_PREDICT_KEEP=1)');
const { scores } = JSON.parse(await readFile(path.join(dir, 'scores.json'), 'utf8')) as {
  scores: Score[];
};
const entries = await readdir(dir);
const rows: Array<{ repeat: number; now: number; then: number }> = [];
for (const example of [...new Set(scores.map((s) => s.flow))]) {
  const flow = await loadFlow(path.join(repoRoot(), 'examples', example, 'flow.yaml'));
  // The held-out inputs of the example, one per repeat, in the order they were generated.
  const held = await Promise.all(
    entries
      .filter((e) => e.startsWith(`${example}-`) && !e.endsWith('.db'))
      .map(async (e) => ({ dir: path.join(dir, e), at: (await stat(path.join(dir, e))).mtimeMs })),
  );
  const repeats = [...new Set(scores.filter((s) => s.flow === example).map((s) => s.repeat))];
  const heldOut = held
    .filter(
      (h) => /-(\d+)-/.exec(path.basename(h.dir))?.[1] === String(largestSize(entries, example)),
    )
    .sort((a, b) => a.at - b.at);
  for (const repeat of repeats) {
    const dcps: Record<string, Dcp> = {};
    for (const [name, stream] of Object.entries(flow.spec.streams ?? {}))
      dcps[name] = await profile(path.resolve(heldOut[repeat].dir, stream.source!));
    const history = await openHistory(path.join(dir, `${example}-${repeat}-history.db`));
    try {
      const stored = await latestCalibration(
        history,
        'bench',
        flow.template.name,
        templateFingerprint(flow.template),
      );
      const result = await predict({
        flow,
        dcp: Object.values(dcps)[0],
        dcps,
        groups: planGroups(flow.template),
        calibrate: false,
        ...(stored ? { engineCalibration: stored } : {}),
        history,
        tenant: 'bench',
      });
      for (const n of result.nodes) {
        const s = scores.find(
          (x) => x.flow === example && x.repeat === repeat && x.node === n.node_id,
        );
        if (s === undefined || !(s.measured.cpu_us > 0)) continue;
        const ape = (p: number) => Math.abs(p - s.measured.cpu_us) / s.measured.cpu_us;
        rows.push({ repeat, now: ape(n.cpu_us_per_record_run), then: ape(s.history.cpu_us) });
        console.log(
          `#${repeat} ${example}/${n.node_id}: measured ${s.measured.cpu_us.toFixed(2)} µs/rec | recorded ${s.history.cpu_us.toFixed(2)} | now ${n.cpu_us_per_record_run.toFixed(2)}`,
        );
      }
    } finally {
      await history.close();
    }
  }
}

function largestSize(names: string[], example: string): number {
  return Math.max(...names.map((e) => Number(new RegExp(`^${example}-(\\d+)-`).exec(e)?.[1] ?? 0)));
}

const byRepeat = (key: 'now' | 'then') =>
  [...new Set(rows.map((r) => r.repeat))].map((rep) =>
    short(median(rows.filter((r) => r.repeat === rep).map((r) => r[key]))),
  );
console.log(
  JSON.stringify({
    scored_nodes: rows.length,
    cpu_mape_history: short(median(rows.map((r) => r.now))),
    cpu_mape_history_recorded: short(median(rows.map((r) => r.then))),
    per_repeat: { now: byRepeat('now'), recorded: byRepeat('then') },
    // The nodes resampled together: how sure the change of the median is.
    change_ci90: bootstrap90(
      rows,
      (sample) => median(sample.map((r) => r.now)) - median(sample.map((r) => r.then)),
    ).map(short),
    nodes_better: rows.filter((r) => r.now < r.then).length,
    nodes_worse: rows.filter((r) => r.now > r.then).length,
  }),
);
