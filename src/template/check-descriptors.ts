import type { Problem, SourcePosition } from '../errors.js';
import { pathToString } from './flow-positions.js';
import type { FlowSpec, FunctionSpec } from './types.js';

/** Looks up where a document path is; undefined when nothing is known. */
export type Locate = (path: string) => SourcePosition | undefined;

/** Builds a problem, adding the position of `path` when it is known. */
export function problem(
  locate: Locate,
  code: string,
  message: string,
  path: string,
  involves: string[],
): Problem {
  const out: Problem = { code, message, path, involves };
  const position = locate(path);
  if (position !== undefined) out.position = position;
  return out;
}

/**
 * The checks on descriptors that need no graph: duplicate names, empty or repeated
 * type lists, stores that do not exist. Returns the functions that take part in
 * inference: the first of each name (a duplicate is reported, not guessed at).
 */
export function checkDescriptors(
  spec: FlowSpec,
  locate: Locate,
  problems: Problem[],
): Array<{ fn: FunctionSpec; index: number }> {
  const first = new Map<string, number>();
  const kept: Array<{ fn: FunctionSpec; index: number }> = [];
  spec.functions.forEach((fn, index) => {
    const at = `functions[${index}]`;
    const earlier = first.get(fn.name);
    if (earlier !== undefined) {
      const where = locate(`functions[${earlier}].name`)?.line;
      problems.push(
        problem(
          locate,
          'E_DUPLICATE_FUNCTION',
          `function "${fn.name}" is defined twice (first as functions[${earlier}]${where ? ` on line ${where}` : ''}); function names are node ids and must be unique`,
          `${at}.name`,
          [fn.name],
        ),
      );
    } else {
      first.set(fn.name, index);
      // Specs built in code may skip the lists the schema defaults; inference needs them.
      kept.push({ fn: { ...fn, input: fn.input ?? [], output: fn.output ?? [] }, index });
    }
    for (const side of ['input', 'output'] as const) {
      const types = fn[side] ?? [];
      if (types.length === 0) {
        const what = side === 'input' ? 'inputs' : 'outputs';
        problems.push(
          problem(
            locate,
            side === 'input' ? 'E_NO_INPUTS' : 'E_NO_OUTPUTS',
            `function "${fn.name}" has no ${what}; give it at least one ${side} type`,
            `${at}.${side}`,
            [fn.name],
          ),
        );
      }
      types.forEach((type, i) => {
        if (types.indexOf(type) !== i) {
          problems.push(
            problem(
              locate,
              'E_DUPLICATE_TYPE',
              `function "${fn.name}" lists ${side} type "${type}" twice`,
              `${at}.${side}[${i}]`,
              [fn.name, type],
            ),
          );
        }
      });
    }
  });

  const stores = spec.stores ?? {};
  const known = Object.keys(stores);
  const storeList = known.length > 0 ? known.map((s) => `"${s}"`).join(', ') : 'none';
  for (const [type, placement] of Object.entries(spec.types ?? {})) {
    const kind = placement.store === undefined ? undefined : stores[placement.store]?.kind;
    if (placement.key !== undefined && (kind === 'nats' || kind === 'redis-stream')) {
      problems.push(
        problem(
          locate,
          'E_APPEND_ONLY_STORE',
          `type "${type}" has key "${placement.key}" but store "${placement.store}" is a ${kind} stream, which is append-only: records cannot be looked up by key there`,
          pathToString(['types', type, 'key']),
          [type, placement.store!],
        ),
      );
    }
    if (placement.store !== undefined && !Object.hasOwn(stores, placement.store)) {
      problems.push(
        problem(
          locate,
          'E_UNKNOWN_STORE',
          `type "${type}" is placed in store "${placement.store}", which the flow does not define (stores: ${storeList})`,
          pathToString(['types', type, 'store']),
          [type, placement.store],
        ),
      );
    }
  }
  if (spec.sink !== undefined && !Object.hasOwn(stores, spec.sink)) {
    problems.push(
      problem(
        locate,
        'E_UNKNOWN_STORE',
        `sink "${spec.sink}" is not a store the flow defines (stores: ${storeList})`,
        'sink',
        [spec.sink],
      ),
    );
  }
  return kept;
}
