/** What bench:predict's two modes share: where the examples are, and what a score is. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root: the folder above this file (bench/ from source, dist/bench/ compiled) holding examples/. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'examples', 'clickstream', 'flow.yaml'))) {
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error('cannot find examples/ above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** One function node of a held-out run: what it measured and what each method predicted. */
export interface Score {
  flow: string;
  /** Which independent repeat of the bench (fresh history) it came from. */
  repeat: number;
  node: string;
  /** The median over the held-out input's measured runs; `runs_cpu_us`: each run's. */
  measured: { cpu_us: number; peak_mb: number; keys: number; runs_cpu_us?: number[] };
  calibration: { cpu_us: number; peak_mb: number; memory_gb: number };
  history: { cpu_us: number; peak_mb: number; memory_gb: number };
  static: { cpu_us: number; peak_mb: number };
  /** The naive baseline: the last training run of the node, its memory scaled by input size. */
  naive: { cpu_us: number; peak_mb: number };
}
