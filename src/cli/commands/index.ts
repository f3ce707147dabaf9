import type { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerHistory } from './history.js';
import { registerK8s } from './k8s.js';
import { registerPool } from './pool.js';
import { registerPredict } from './predict.js';
import { registerProfile } from './profile.js';
import { registerRun } from './run.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';
import { registerTemplate } from './template.js';
import { registerTenant } from './tenant.js';
import { registerWorker } from './worker.js';

/** Every `warmflow` subcommand, in the order `--help` lists them: the way data travels. */
export function registerCommands(program: Command): void {
  registerDemo(program);
  registerTemplate(program);
  registerProfile(program);
  registerPredict(program);
  registerRun(program);
  registerServe(program);
  registerPool(program);
  registerSimulate(program);
  registerHistory(program);
  registerTenant(program);
  registerK8s(program);
  registerWorker(program);
}
