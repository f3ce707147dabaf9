import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ValidationError, type Problem } from '../errors.js';
import {
  boundedCopy,
  checkYamlBounds,
  limitError,
  FLOW_LIMITS,
  type DocumentLimits,
} from './document-limits.js';
import { flowSchema } from './flow-schema.js';
import { FlowPositions, pathToString } from './flow-positions.js';
import { inferTemplate } from './infer-template.js';
import type { FlowSpec } from './types.js';

/**
 * A parsed flow: the {@link FlowSpec} itself plus, as a non-enumerable `positions`
 * property, where each of its parts is in the file. Being non-enumerable, positions
 * stay out of `JSON.stringify` and spreads; {@link inferTemplate} picks them up.
 */
export type ParsedFlow = FlowSpec & { readonly positions: FlowPositions };

/**
 * Parses a flow file's YAML (or JSON) text and validates its shape. Every problem
 * carries `file:line:column`; all are thrown together as one {@link ValidationError}.
 *
 * ```ts
 * const flow = parseFlow(await readFile('flow.yaml', 'utf8'), 'flow.yaml');
 * const template = inferTemplate(flow);
 * ```
 */
export function parseFlow(
  text: string,
  file?: string,
  limits: DocumentLimits = FLOW_LIMITS,
): ParsedFlow {
  // Bounded before composing: yaml's composer and everything after it recurse.
  checkYamlBounds(text, limits, file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error): Problem => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      // yaml's own message repeats the position after a colon; keep the first line only.
      const message = (error.message.split('\n')[0] ?? error.message).replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      return {
        code: 'E_YAML',
        message: `malformed YAML: ${message}`,
        position: file === undefined ? { line, column: col } : { file, line, column: col },
      };
    });
    throw new ValidationError(`invalid flow ${file ?? '<input>'}`, problems);
  }
  const positions = FlowPositions.fromYaml(doc.contents, lineCounter, file);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (error) {
    // yaml refuses an alias bomb with a ReferenceError; it is the same limit as ours.
    if (!(error instanceof ReferenceError)) throw error;
    throw limitError(
      'flow',
      `expanding the aliases takes more than ${limits.maxAliases} steps`,
      'max_aliases',
      'write the repeated parts out instead of aliasing them',
      file,
    );
  }
  return validateFlowSpec(boundedCopy(value, limits, file), positions);
}

/**
 * Checks that a value (parsed YAML, or a `defineFlow` module's default export) has the
 * shape of a flow file, and returns it with defaults applied and `positions` attached.
 */
export function validateFlowSpec(
  value: unknown,
  positions: FlowPositions = new FlowPositions(),
): ParsedFlow {
  const result = flowSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) =>
      issueToProblems(issue, value, positions),
    );
    problems.push(...problemsBeyondUnknownFields(value, result.error.issues, positions));
    problems.sort((a, b) => (a.position?.line ?? Infinity) - (b.position?.line ?? Infinity));
    throw new ValidationError(`invalid flow ${positions.file ?? nameOf(value)}`, problems);
  }
  const spec = result.data;
  Object.defineProperty(spec, 'positions', { value: positions, enumerable: false });
  return spec as ParsedFlow;
}

/**
 * When unknown fields are the only shape problems, the rest of the flow can still be
 * inferred: report its problems too, so one run shows everything that is wrong.
 */
function problemsBeyondUnknownFields(
  value: unknown,
  issues: readonly z.core.$ZodIssue[],
  positions: FlowPositions,
): Problem[] {
  if (!issues.every((issue) => issue.code === 'unrecognized_keys')) return [];
  const pruned = copyData(value);
  for (const issue of issues) {
    const owner = valueAt(pruned, issue.path) as Record<string, unknown>;
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) delete owner[key];
  }
  const again = flowSchema.safeParse(pruned);
  if (!again.success) return [];
  try {
    inferTemplate(again.data, { positions });
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return [...error.problems];
    throw error;
  }
}

function issueToProblems(
  issue: z.core.$ZodIssue,
  root: unknown,
  positions: FlowPositions,
): Problem[] {
  const path = pathToString(issue.path);
  const owner = functionOwner(issue.path, root);
  const fnName = valueAt(root, ['functions', issue.path[1] ?? -1, 'name']);
  const involves = issue.path[0] === 'functions' && typeof fnName === 'string' ? [fnName] : [];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const keyPath = pathToString([...issue.path, key]);
      const given = (valueAt(root, [...issue.path]) as Record<string, unknown> | undefined)?.[key];
      const problem: Problem = {
        code: 'E_UNKNOWN_FIELD',
        message:
          typeof given === 'function'
            ? `${owner}unknown field "${key}": a flow names each function's code by \`module\` (a file exporting it), it cannot hold the function itself`
            : `${owner}unknown field "${key}"`,
        path: keyPath,
        involves,
      };
      const position = positions.keyAt(keyPath);
      if (position) problem.position = position;
      return problem;
    });
  }
  const missing = valueAt(root, issue.path) === undefined;
  const problem: Problem = {
    code: 'E_SHAPE',
    message: missing
      ? `${owner}missing required field "${String(issue.path.at(-1) ?? 'name')}"`
      : `${owner}${path ? `${path}: ` : ''}${issue.message.replace(/^Invalid input: /, '')}`,
    path,
    involves,
  };
  const position = positions.at(path);
  if (position) problem.position = position;
  return [problem];
}

/** `function "parse": ` when the path points into a named function, so messages name it. */
function functionOwner(path: ReadonlyArray<PropertyKey>, root: unknown): string {
  if (path[0] !== 'functions' || typeof path[1] !== 'number') return '';
  const name = valueAt(root, ['functions', path[1], 'name']);
  return typeof name === 'string' ? `function "${name}": ` : `functions[${path[1]}]: `;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function nameOf(value: unknown): string {
  const name = valueAt(value, ['name']);
  return typeof name === 'string' ? `"${name}"` : '<flow>';
}

/** A copy of the plain data in a value (a `defineFlow` object may hold functions, which are dropped). */
function copyData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyData);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'function') copy[key] = copyData(item);
    }
    return copy;
  }
  return value;
}
