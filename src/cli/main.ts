import { Command, CommanderError } from 'commander';
import { WarmflowError, ValidationError } from '../errors.js';
import { registerCommands } from './commands/index.js';

/** Exit codes: 0 ok, 1 the job failed, 2 invalid input (flow, request, flags), 3 internal error. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, internal: 3 } as const;

/** Builds the `warmflow` program; exported so tests can drive it in-process. */
export function buildProgram(): Command {
  const program = new Command('warmflow')
    .description(
      'Dataflows that start instantly: infer the template, profile the data, predict ' +
        'per-node resources, keep them warm, run on request.',
    )
    .option('--verbose', 'print stack traces and debug detail', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Prints an error the way a user should see it: message and hint, stack only with --verbose. */
export function printError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  }
  if (error instanceof WarmflowError) {
    process.stderr.write(`warmflow: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    if (verbose && error.cause !== undefined)
      process.stderr.write(
        `cause: ${error.cause instanceof Error ? error.cause.message : JSON.stringify(error.cause)}\n`,
      );
    return error instanceof ValidationError || error.code.startsWith('E_INVALID')
      ? EXIT.invalid
      : EXIT.failed;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`warmflow: internal error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('(run with --verbose for the stack trace)\n');
  return EXIT.internal;
}

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    return printError(error, argv.includes('--verbose'));
  }
}
