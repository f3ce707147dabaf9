import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedFlow, LoadedFunction } from '../../template/load-flow.js';
import { ValidationError } from '../../errors.js';
import type { FlowRecord } from '../ports.js';
import type { FlowSpec } from '../../template/types.js';

const loaded = new WeakMap<FlowRecord, Promise<LoadedFlow>>();

/** A module path as the template loader resolves it: as given, or `./x.js` naming `./x.ts`. */
function resolveModule(dir: string, module: string): string | null {
  const absolute = path.resolve(dir, module);
  const candidates = [absolute];
  if (absolute.endsWith('.js')) candidates.push(absolute.slice(0, -3) + '.ts');
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}

/**
 * The flow's functions with their modules resolved against `dir`, as the template
 * loader resolves them; a module that does not exist is a `ValidationError` naming
 * every such function (so registration refuses a flow that could never run).
 */
export function functionsOf(spec: FlowSpec, dir: string): LoadedFunction[] {
  const functions = spec.functions.map((fn): LoadedFunction => {
    const fnLoaded: LoadedFunction = {
      name: fn.name,
      module: fn.module === undefined ? null : resolveModule(dir, fn.module),
      export: (fn as { export?: string }).export ?? fn.name,
      input: fn.input,
      output: fn.output,
      gpu: fn.gpu ?? 'none',
    };
    if (fn.key !== undefined) fnLoaded.key = fn.key;
    return fnLoaded;
  });
  const missing = spec.functions.filter(
    (fn, i) => fn.module !== undefined && functions[i].module === null,
  );
  if (missing.length > 0) {
    throw new ValidationError(
      `flow ${spec.name}`,
      missing.map((fn) => ({
        code: 'E_MODULE_NOT_FOUND',
        message: `function "${fn.name}": module "${fn.module}" does not exist (looked in ${dir})`,
        involves: [fn.name],
      })),
    );
  }
  return functions;
}

/**
 * The registered flow as the predictor, the pools and the executor need it (a
 * `LoadedFlow`: function modules resolved to absolute paths). It is built from the
 * spec that was posted (not re-read from disk, so what runs is what was
 * registered); relative paths resolve against the folder of `?file=`, else the
 * server's first root. Cached per flow.
 */
export function loadedFlowOf(flow: FlowRecord, roots: readonly string[]): Promise<LoadedFlow> {
  let result = loaded.get(flow);
  if (result === undefined) {
    result = (async (): Promise<LoadedFlow> => {
      const dir = flow.file !== null ? path.dirname(flow.file) : (roots[0] ?? process.cwd());
      const functions = functionsOf(flow.spec, dir);
      return {
        file: flow.file ?? path.join(dir, `${flow.name}.flow.yaml`),
        dir,
        spec: flow.spec,
        template: flow.template,
        functions,
      };
    })();
    loaded.set(flow, result);
    result.catch(() => loaded.delete(flow));
  }
  return result;
}
