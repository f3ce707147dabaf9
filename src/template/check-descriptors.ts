import type { ErrorCode, Problem, SourcePosition } from '../errors.js';
import { pathToString } from './flow-positions.js';
import type { FlowSpec, FunctionSpec } from './types.js';

/** Looks up where a document path is; undefined when nothing is known. */
export type Locate = (path: string) => SourcePosition | undefined;

/** Builds a problem, adding the position of `path` when it is known. */
export function problem(
  locate: Locate,
  code: ErrorCode,
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
    const state = fn.state ?? [];
    if (state.length > 0 && fn.key === undefined)
      problems.push(
        problem(
          locate,
          'E_STATE_DECLARATION',
          `function "${fn.name}" declares state but has no key; state is per key: add \`key: <field>\``,
          `${at}.state`,
          [fn.name],
        ),
      );
    state.forEach((name, i) => {
      if (state.indexOf(name) !== i)
        problems.push(
          problem(
            locate,
            'E_STATE_DECLARATION',
            `function "${fn.name}" declares state "${name}" twice`,
            `${at}.state[${i}]`,
            [fn.name, name],
          ),
        );
    });
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
  checkTypeNames(spec, locate, problems);
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

/** Edit distance (insertions, deletions, substitutions; case-insensitive), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++)
      row[j] = Math.min(
        previous[j] + 1,
        row[j - 1] + 1,
        previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return previous[y.length];
}

/** The name among `candidates` that `name` most likely misspells, if one is close enough. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A typo is a letter or two (more for long names), or a difference of case only.
  const limit = Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/**
 * Type names that point nowhere: a type declared under `types` that no stream carries and
 * no function takes or gives, and a function's output type that `types` does not declare
 * while a declared one is spelled almost the same. Both would silently send records
 * somewhere else (a typo'd output goes to the default JSONL sink, the store stays empty).
 */
function checkTypeNames(spec: FlowSpec, locate: Locate, problems: Problem[]): void {
  const declared = spec.types ?? {};
  const used = new Set<string>();
  for (const stream of Object.values(spec.streams ?? {})) used.add(stream.type);
  for (const fn of spec.functions)
    for (const t of [...(fn.input ?? []), ...(fn.output ?? [])]) used.add(t);
  const explained = new Set<string>();
  spec.functions.forEach((fn, index) => {
    (fn.output ?? []).forEach((type, i) => {
      if (Object.hasOwn(declared, type)) return;
      const near = closestName(
        type,
        Object.keys(declared).filter((d) => !used.has(d)),
      );
      if (near === undefined) return;
      explained.add(near);
      const placement = declared[near];
      problems.push(
        problem(
          locate,
          'E_UNDECLARED_TYPE',
          `function "${fn.name}" outputs type "${type}", which types does not declare; did you mean "${near}"${placement.store !== undefined ? ` (placed in store "${placement.store}")` : ''}? As written, "${type}" would go to the default JSONL sink and "${near}" would stay empty`,
          `functions[${index}].output[${i}]`,
          [fn.name, type, near],
        ),
      );
    });
  });
  for (const type of Object.keys(declared)) {
    if (used.has(type) || explained.has(type)) continue;
    const near = closestName(type, used);
    problems.push(
      problem(
        locate,
        'E_UNUSED_TYPE',
        `type "${type}" is declared under types but no stream carries it and no function takes or gives it` +
          (near !== undefined
            ? `; did you mean "${near}"?`
            : `; the flow's types: ${[...used].map((t) => `"${t}"`).join(', ') || 'none'}`),
        pathToString(['types', type]),
        near !== undefined ? [type, near] : [type],
      ),
    );
  }
}
