import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { WarmflowError, ValidationError, type ErrorCode } from '../errors.js';
import { registerCommands } from './commands/index.js';

/** Exit codes: 0 ok, 1 the job failed, 2 invalid input (flow, request, flags), 3 internal error. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, internal: 3 } as const;

/** The version in warmflow's package.json (two folders up from src/cli or dist/src/cli). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'warmflow' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level: try the next
    }
  }
  return 'unknown';
}

/** Builds the `warmflow` program; exported so tests can drive it in-process. */
export function buildProgram(): Command {
  const program = new Command('warmflow')
    .description(
      'Dataflows that start instantly: infer the template, profile the data, predict ' +
        'per-node resources, keep them warm, run on request.',
    )
    .version(packageVersion(), '-V, --version', 'print the version of warmflow')
    .option('--verbose', 'print stack traces and debug detail', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/**
 * Error codes that mean the input was invalid (exit 2) though their name does not start
 * with `E_INVALID`: inputs that cannot be read or are not records, functions whose module
 * does not load or lacks the named export, a GPU that a function requires and the machine
 * lacks, a run to resume that cannot be.
 */
const INVALID_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_SOURCE_UNREADABLE',
  'E_SOURCE_FORMAT',
  'E_SOURCE_UNSUPPORTED',
  'E_SOURCE_EMPTY',
  'E_SOURCE_NO_RECORDS',
  'E_MODULE',
  'E_MODULE_NOT_FOUND',
  'E_GPU_UNAVAILABLE',
  'E_RESUME',
]);

/** The exit code of an error: 2 for invalid input, 1 for a job that failed. */
export function exitCodeOf(error: WarmflowError): number {
  return error instanceof ValidationError ||
    error.code.startsWith('E_INVALID') ||
    INVALID_INPUT_CODES.has(error.code)
    ? EXIT.invalid
    : EXIT.failed;
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
    return exitCodeOf(error);
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
