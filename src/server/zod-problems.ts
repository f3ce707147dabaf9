import type { Problem } from '../errors.js';

/** What the API reads of a zod issue. */
export interface ZodIssueLike {
  code: string;
  message: string;
  path: PropertyKey[];
  keys?: string[];
}

/** Zod issues as the API's problems: one per issue, with the field path. */
export function problemsOf(issues: readonly ZodIssueLike[], target: string): Problem[] {
  return issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    const problem: Problem = {
      code: issue.code === 'unrecognized_keys' ? 'E_UNKNOWN_FIELD' : 'E_INVALID_FIELD',
      message: `${target}${where ? ` field "${where}"` : ''}: ${issue.message}`,
    };
    if (where) problem.path = where;
    if (issue.keys !== undefined) problem.involves = issue.keys;
    return problem;
  });
}

/** The 400 body of a request that failed its schema (what the app's validator hook answers). */
export function invalidRequestBody(problems: Problem[]): {
  error: { code: 'E_INVALID_REQUEST'; message: string; problems: Problem[] };
} {
  return {
    error: {
      code: 'E_INVALID_REQUEST',
      message: problems.map((p) => p.message).join('; '),
      problems,
    },
  };
}
