import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedFlow, LoadedFunction } from '../../template/load-flow.js';
import { loadFlow } from '../../template/load-flow.js';
import type { FlowRecord } from '../ports.js';

const loaded = new WeakMap<FlowRecord, Promise<LoadedFlow>>();

/** A module path as the template loader resolves it: as given, else with a .ts/.js extension. */
function resolveModule(dir: string, module: string): string | null {
  const absolute = path.resolve(dir, module);
  for (const candidate of [absolute, `${absolute}.ts`, `${absolute}.js`, `${absolute}.mjs`]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * The registered flow as the predictor, the pools and the executor need it (a
 * `LoadedFlow`: function modules resolved to absolute paths). A flow registered with
 * `?file=` is loaded from that file exactly as the CLI loads it; one posted without
 * resolves its relative paths against the server's first root. Cached per flow.
 */
export function loadedFlowOf(flow: FlowRecord, roots: readonly string[]): Promise<LoadedFlow> {
  let result = loaded.get(flow);
  if (result === undefined) {
    result = (async (): Promise<LoadedFlow> => {
      if (flow.file !== null) return loadFlow(flow.file);
      const dir = roots[0] ?? process.cwd();
      const functions = flow.spec.functions.map((fn): LoadedFunction => {
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
      return {
        file: path.join(dir, `${flow.name}.flow.yaml`),
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
