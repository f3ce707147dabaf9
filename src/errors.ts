import type { ErrorCode } from './error-codes.js';

export { ERROR_CODES, isErrorCode } from './error-codes.js';
export type { ErrorCode } from './error-codes.js';

/**
 * The one base error of warmflow. Every error a user can see carries a stable
 * `code` (scripts match on it; one of the closed set {@link ErrorCode}, listed in
 * `docs/errors.md`), a message that says what was wrong, where
 * and what to do, and optionally the `cause` it wraps.
 *
 * ```ts
 * throw new WarmflowError('E_CAPACITY', 'node "parse" asks for 8 cores; this machine has 2 free', {
 *   hint: 'lower cpu_cores in the RPR or free resources with `warmflow pool down`',
 * });
 * ```
 */
export class WarmflowError extends Error {
  override readonly name: string = 'WarmflowError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  /** A JSON-safe view for `--json` output and HTTP error bodies. */
  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Where in a user's file a problem is, for messages like `flow.yaml:12:5`. */
export interface SourcePosition {
  file?: string;
  line?: number;
  column?: number;
}

/** One problem found while validating user input (a flow file, a request body). */
export interface Problem {
  /** Stable code of this kind of problem, e.g. `E_CYCLE`, `E_UNKNOWN_STORE`. */
  code: ErrorCode;
  message: string;
  /** JSON-pointer-like path in the document, e.g. `functions[2].input[0]`. */
  path?: string;
  position?: SourcePosition;
  /** Function names, type names or node ids the problem involves. */
  involves?: string[];
}

/** Formats a position as `file:line:column`, leaving out what is unknown. */
export function formatPosition(position: SourcePosition | undefined): string {
  if (position === undefined) return '';
  const parts = [position.file ?? '<input>'];
  if (position.line !== undefined) parts.push(String(position.line));
  if (position.line !== undefined && position.column !== undefined)
    parts.push(String(position.column));
  return parts.join(':');
}

/** Input that was refused; carries every problem found, not just the first. */
export class ValidationError extends WarmflowError {
  override readonly name = 'ValidationError';
  readonly problems: readonly Problem[];

  constructor(subject: string, problems: readonly Problem[]) {
    super(
      'E_INVALID',
      `${subject}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems
          .map((p) => {
            const where = formatPosition(p.position);
            return `  ${where ? where + ': ' : ''}${p.message}${p.path ? ` (at ${p.path})` : ''}`;
          })
          .join('\n'),
    );
    this.problems = problems;
  }
}

/** What a failed user function looks like once caught (Temporal's failure shape). */
export interface FunctionFailure {
  type: string;
  message: string;
  retryable: boolean;
  stack?: string;
}

/** Turns any thrown value into a {@link FunctionFailure}. */
export function toFailure(thrown: unknown, retryable = false): FunctionFailure {
  if (thrown instanceof Error) {
    const failure: FunctionFailure = { type: thrown.name, message: thrown.message, retryable };
    if (thrown.stack !== undefined) failure.stack = thrown.stack;
    return failure;
  }
  return { type: typeof thrown, message: String(thrown), retryable };
}
