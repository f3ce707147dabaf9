import type { Command } from 'commander';
import { registerTemplate } from './template.js';

/** Every `warmflow` subcommand, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerTemplate(program);
}
