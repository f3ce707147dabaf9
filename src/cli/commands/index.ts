import type { Command } from 'commander';
import { registerTemplate } from './template.js';
import { registerWorker } from './worker.js';
import { registerPool } from './pool.js';
import { registerServe } from './serve.js';
import { registerK8s } from './k8s.js';
import { registerPredict } from './predict.js';
import { registerHistory } from './history.js';
import { registerRun } from './run.js';
import { registerDemo } from './demo.js';
import { registerProfile } from './profile.js';
import { registerTenant } from './tenant.js';

/** Every `warmflow` subcommand, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerTemplate(program);
  registerWorker(program);
  registerPool(program);
  registerServe(program);
  registerK8s(program);
  registerPredict(program);
  registerHistory(program);
  registerRun(program);
  registerDemo(program);
  registerProfile(program);
  registerTenant(program);
}
