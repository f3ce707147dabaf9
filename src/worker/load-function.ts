import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WarmflowError } from '../errors.js';
import type { UserFunction } from '../template/function-api.js';

/** Set (to "1") by a server in the environment of the processes that run tenant code. */
export const CONFINED_ENV = 'WARMFLOW_CONFINED';

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;

/** Whether this process can already import TypeScript (started with `--import tsx`, or vitest). */
function typescriptLoaderActive(): boolean {
  return process.execArgv.some((arg) => arg.includes('tsx')) || process.env.VITEST !== undefined;
}

/**
 * Imports a module by absolute path: JavaScript with `import()`, TypeScript through tsx's
 * namespaced `tsImport` (so a compiled warmflow can load users' `.ts` functions without a global
 * loader hook) unless the process already runs under tsx.
 */
export async function importModule(modulePath: string): Promise<Record<string, unknown>> {
  if (!path.isAbsolute(modulePath)) {
    throw new WarmflowError('E_MODULE', `function module path must be absolute: ${modulePath}`);
  }
  const url = pathToFileURL(modulePath).href;
  try {
    if (TYPESCRIPT.test(modulePath) && !typescriptLoaderActive()) {
      const { tsImport } = await import('tsx/esm/api');
      return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    }
    return (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    if (process.env[CONFINED_ENV] === '1') {
      // A server's tenant code: "x is not defined" would echo a word of the file (a .env's
      // secret), so say only which kind of failure it was.
      const kind = cause instanceof Error ? cause.name : 'Error';
      throw new WarmflowError('E_MODULE', `cannot load function module ${modulePath} (${kind})`, {
        hint: 'run the module locally (`warmflow run`) to see the error',
      });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new WarmflowError('E_MODULE', `cannot load function module ${modulePath}: ${reason}`, {
      cause,
      hint: 'check the module path in the flow file and that the module compiles',
    });
  }
}

/**
 * Loads one node's function: imports its module and checks that the named export is a function.
 *
 * ```ts
 * const fn = await loadFunction({ node_id: 'enrich', module: '/abs/functions/enrich.ts', export: 'enrich' });
 * ```
 */
export async function loadFunction(spec: {
  node_id: string;
  module: string;
  export: string;
}): Promise<UserFunction> {
  const module = await importModule(spec.module);
  // tsImport of a CommonJS-shaped module nests named exports under `default`.
  const direct = module[spec.export];
  const nested = (module.default as Record<string, unknown> | undefined)?.[spec.export];
  const candidate = direct ?? nested;
  if (typeof candidate !== 'function') {
    const found = Object.keys(module).join(', ') || 'nothing';
    throw new WarmflowError(
      'E_MODULE',
      `node "${spec.node_id}": ${spec.module} has no exported function "${spec.export}" (it exports ${found})`,
      { hint: `export a function named ${spec.export} from that module` },
    );
  }
  return candidate as UserFunction;
}
