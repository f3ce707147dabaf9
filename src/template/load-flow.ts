import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError, WarmflowError, type Problem } from '../errors.js';
import { FlowPositions } from './flow-positions.js';
import { inferTemplate } from './infer-template.js';
import { parseFlow, validateFlowSpec, type ParsedFlow } from './parse-flow.js';
import type { FlowSpec, FunctionSpec, Template, WorkerGrant } from './types.js';

/** A function of a loaded flow, with its module resolved to an absolute path. */
export interface LoadedFunction {
  name: string;
  /** Absolute path of the module exporting the function; null when the flow names none. */
  module: string | null;
  /** The export to call in `module` (the function's `export`, else its name). */
  export: string;
  input: string[];
  output: string[];
  key?: string;
  gpu: NonNullable<FunctionSpec['gpu']>;
}

/** A flow file read, validated and inferred: what `run`, `profile` and `predict` start from. */
export interface LoadedFlow {
  /** Absolute path of the flow file. */
  file: string;
  /** Its folder: paths in the flow (modules, sources, sqlite files, seeds) are relative to it. */
  dir: string;
  spec: FlowSpec;
  template: Template;
  functions: LoadedFunction[];
  /**
   * On a server: what the tenant's processes running this flow were granted (see
   * {@link WorkerGrant}); workers refuse any deployment outside it. Absent locally.
   */
  grant?: WorkerGrant;
}

const TS = new Set(['.ts', '.mts', '.cts']);
const JS = new Set(['.js', '.mjs', '.cjs']);
const YAML = new Set(['.yaml', '.yml', '.json']);

/**
 * Reads a flow file — YAML (`.yaml`/`.yml`/`.json`) or a TS/JS module whose default
 * export is a {@link FlowSpec} (see `defineFlow`) — validates it, infers its template
 * and resolves its function modules. Problems, including modules that do not exist,
 * are thrown together as one {@link ValidationError}.
 *
 * ```ts
 * const flow = await loadFlow('examples/clickstream/flow.yaml');
 * flow.template.nodes.map((n) => n.id); // ['source:clicks', 'read:UserProfile', 'parse', …]
 * ```
 */
export async function loadFlow(file: string): Promise<LoadedFlow> {
  const absolute = path.resolve(file);
  const shown = displayPath(absolute);
  const dir = path.dirname(absolute);
  const spec = await readSpec(absolute, shown);

  const problems: Problem[] = [];
  const functions = await Promise.all(
    spec.functions.map(async (fn, index): Promise<LoadedFunction> => {
      const loaded: LoadedFunction = {
        name: fn.name,
        module: null,
        export: fn.export ?? fn.name,
        input: fn.input,
        output: fn.output,
        gpu: fn.gpu ?? 'none',
      };
      if (fn.key !== undefined) loaded.key = fn.key;
      if (fn.module !== undefined) {
        loaded.module = await resolveModule(dir, fn.module);
        if (loaded.module === null) {
          const problem: Problem = {
            code: 'E_MODULE_NOT_FOUND',
            message: `function "${fn.name}": module "${fn.module}" does not exist (looked in ${displayPath(dir)})`,
            path: `functions[${index}].module`,
            involves: [fn.name],
          };
          const position = spec.positions.at(problem.path!);
          if (position) problem.position = position;
          problems.push(problem);
        }
      }
      return loaded;
    }),
  );

  let template: Template | undefined;
  try {
    template = inferTemplate(spec);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || template === undefined) {
    problems.sort((a, b) => (a.position?.line ?? Infinity) - (b.position?.line ?? Infinity));
    throw new ValidationError(`invalid flow ${shown}`, problems);
  }
  return { file: absolute, dir, spec, template, functions };
}

async function readSpec(absolute: string, shown: string): Promise<ParsedFlow> {
  const ext = path.extname(absolute).toLowerCase();
  if (YAML.has(ext)) {
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (cause) {
      throw new WarmflowError('E_INVALID_FLOW_FILE', `cannot read flow file ${shown}`, {
        cause,
        hint: 'give the path of a flow .yaml (or a .ts/.js module exporting defineFlow(...))',
      });
    }
    return parseFlow(text, shown);
  }
  if (TS.has(ext) || JS.has(ext)) {
    const url = pathToFileURL(absolute).href;
    let module: { default?: unknown };
    try {
      // tsx compiles TS on the fly; plain JS needs no loader.
      module = TS.has(ext)
        ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url)
        : await import(url);
    } catch (cause) {
      throw new WarmflowError(
        'E_INVALID_FLOW_FILE',
        `cannot load flow module ${shown}: ${String(cause)}`,
        {
          cause,
          hint: 'the module must load and `export default defineFlow({...})`',
        },
      );
    }
    const value = unwrapDefault(module);
    return validateFlowSpec(value, new FlowPositions(shown));
  }
  throw new WarmflowError(
    'E_INVALID_FLOW_FILE',
    `flow file ${shown} is neither YAML nor a TS/JS module`,
    {
      hint: 'flow files end in .yaml, .yml, .json, .ts or .js',
    },
  );
}

/** tsx may wrap a module's exports once more in `default` when it treats it as CommonJS. */
function unwrapDefault(module: { default?: unknown }): unknown {
  const value = module.default;
  if (
    value !== null &&
    typeof value === 'object' &&
    !('functions' in value) &&
    'default' in value
  ) {
    return value.default;
  }
  return value;
}

async function resolveModule(dir: string, module: string): Promise<string | null> {
  const absolute = path.resolve(dir, module);
  // TS projects name `./parse.js` for a file that is `./parse.ts`.
  const candidates = [absolute];
  if (absolute.endsWith('.js')) candidates.push(absolute.slice(0, -3) + '.ts');
  for (const candidate of candidates) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next candidate
    }
  }
  return null;
}

/** Relative to the working folder when inside it: messages read `examples/x/flow.yaml:3:5`. */
function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : absolute;
}
