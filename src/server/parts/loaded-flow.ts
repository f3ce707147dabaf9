import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LoadedFlow, LoadedFunction } from '../../template/load-flow.js';
import { ValidationError, type Problem } from '../../errors.js';
import type { FlowRecord } from '../ports.js';
import type { FlowSpec, StoreSpec } from '../../template/types.js';
import type { TenantAreas } from '../../tenancy/tenant-area.js';
import { flowVersion } from '../../template/flow-version.js';
import { namespaceOf, type StoreCatalogue } from '../../stores/store-catalogue.js';
import { grantLiveSource } from '../../sources/live/live-grant.js';
import { defaultGroup } from '../../sources/live/live-url.js';
import type { CalibrationSandbox } from '../../predictor/calibration/sandbox.js';
import { installPaths, minimalEnv, type SandboxMechanism } from '../../tenancy/sandbox.js';

const loaded = new WeakMap<FlowRecord, Promise<LoadedFlow>>();

/** File names a function module may have: JavaScript or TypeScript, nothing else. */
const MODULE_FILE = /\.(?:[cm]?js|[cm]?ts|tsx)$/;

/**
 * Why a module specifier can never name tenant code, or null: URLs (`data:`, `node:`,
 * `file:`, `http:`), package names (bare or scoped), files that are not JavaScript or
 * TypeScript (a `.env`), anything under `node_modules`.
 */
export function refusedModuleSpecifier(module: string): string | null {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(module) && !/^[A-Za-z]:[\\/]/.test(module))
    return 'URLs are not modules';
  if (module.includes('\0')) return 'not a path';
  if (!module.startsWith('.') && !module.includes('/') && !MODULE_FILE.test(module))
    return 'package names are not modules: upload the code with the flow';
  if (module.startsWith('@')) return 'package names are not modules';
  if (module.split(/[\\/]/).includes('node_modules')) return 'node_modules is not tenant code';
  if (!MODULE_FILE.test(module)) return 'a module is a .js/.mjs/.cjs/.ts/.mts/.cts file';
  return null;
}

/** What a server flow's paths resolve into. */
export interface FlowPaths {
  /** The spec with every path absolute (modules, sources, seeds, sqlite files). */
  spec: FlowSpec;
  functions: LoadedFunction[];
  /** The store catalogue the flow's workers are granted (sqlite files in the tenant's area). */
  stores: Record<string, StoreSpec>;
}

/**
 * Resolves every path a tenant's flow names inside what the tenant may read — its area and the
 * server's shared roots, by path segments and after symlinks — and every sqlite file inside
 * its area's `data/`; network stores must be instances of the admin's catalogue granted to the
 * tenant. A refused path gets the same answer whether or not it exists. Throws a
 * `ValidationError` listing every problem.
 */
export function resolveFlowPaths(
  spec: FlowSpec,
  tenant: string,
  areas: TenantAreas,
  dir: string,
  catalogue?: StoreCatalogue,
): FlowPaths {
  const problems: Problem[] = [];
  const area = areas.area(tenant);
  const readable = (what: string, requested: string, involves: string[]): string | null => {
    const file = areas.resolve(tenant, requested, dir);
    if (file === null) {
      problems.push({
        code: 'E_PATH_FORBIDDEN',
        message: `${what} "${requested}" is not in your area or a shared folder of this server`,
        involves,
      });
    }
    return file;
  };
  const functions = spec.functions.map((fn): LoadedFunction => {
    let module: string | null = null;
    if (fn.module !== undefined) {
      const refused = refusedModuleSpecifier(fn.module);
      if (refused !== null) {
        problems.push({
          code: 'E_MODULE_FORBIDDEN',
          message: `function "${fn.name}": module "${fn.module}" refused (${refused})`,
          involves: [fn.name],
        });
      } else {
        module = readable(`function "${fn.name}": module`, fn.module, [fn.name]);
        if (module !== null && !(existsSync(module) && statSync(module).isFile())) {
          problems.push({
            code: 'E_MODULE_NOT_FOUND',
            message: `function "${fn.name}": module "${fn.module}" does not exist in your area`,
            involves: [fn.name],
          });
          module = null;
        }
      }
    }
    const loadedFn: LoadedFunction = {
      name: fn.name,
      module,
      export: (fn as { export?: string }).export ?? fn.name,
      input: fn.input,
      output: fn.output,
      gpu: fn.gpu ?? 'none',
    };
    if (fn.key !== undefined) loadedFn.key = fn.key;
    return loadedFn;
  });
  const streams: NonNullable<FlowSpec['streams']> = {};
  for (const [name, stream] of Object.entries(spec.streams ?? {})) {
    streams[name] = { ...stream };
    if (stream.source !== undefined) {
      // A live stream: an instance of the admin's catalogue, read in the tenant's namespace.
      const live = grantLiveSource(
        stream.source,
        namespaceOf(tenant),
        defaultGroup(spec.name, name),
        (instance, kind) => catalogue?.instance(tenant, instance, kind),
      );
      if (live !== null) {
        if ('problem' in live)
          problems.push({
            code: 'E_SOURCE_URL',
            message: `stream "${name}": ${live.problem}`,
            involves: [name],
          });
        else streams[name].source = live.url;
        continue;
      }
      const file = readable(`stream "${name}": source`, stream.source, [name]);
      if (file !== null) streams[name].source = file;
    }
  }
  const types: NonNullable<FlowSpec['types']> = {};
  for (const [name, type] of Object.entries(spec.types ?? {})) {
    types[name] = { ...type };
    if (type.seed !== undefined) {
      const file = readable(`type "${name}": seed`, type.seed, [name]);
      if (file !== null) types[name].seed = file;
    }
  }
  const stores: Record<string, StoreSpec> = {};
  for (const [name, store] of Object.entries(spec.stores ?? {})) {
    if (store.kind === 'memory') stores[name] = { kind: 'memory' };
    else if (store.kind === 'sqlite') {
      // A tenant's sqlite files live in its area whatever the flow says: relative paths under
      // data/, absolute ones only when they already are there.
      const requested = store.path ?? `${name}.db`;
      if (requested === ':memory:') stores[name] = { kind: 'sqlite', path: ':memory:' };
      else {
        const file = areas.resolve(tenant, requested, area.data);
        if (file === null || !areas.writable(tenant, file)) {
          problems.push({
            code: 'E_PATH_FORBIDDEN',
            message: `store "${name}": sqlite path "${requested}" is outside your area's data folder`,
            involves: [name],
          });
        } else stores[name] = { kind: 'sqlite', path: file };
      }
    } else {
      const granted = catalogue?.grant(tenant, name, store, path.join(area.work, 'stores'));
      if (granted === undefined || 'problem' in granted) {
        problems.push({
          code: 'E_STORE_NOT_GRANTED',
          message:
            granted?.problem ??
            `store "${name}" unavailable: this server lets tenants use only the store instances its catalogue grants them`,
          involves: [name],
        });
      } else stores[name] = granted.spec;
    }
  }
  if (problems.length > 0) throw new ValidationError(`flow ${spec.name}`, problems);
  const resolved: FlowSpec = { ...spec, streams, types, stores };
  if (spec.streams === undefined) delete resolved.streams;
  if (spec.types === undefined) delete resolved.types;
  if (spec.stores === undefined) delete resolved.stores;
  return { spec: resolved, functions, stores };
}

/** The folder a flow's relative paths resolve against: its bundle, its file's folder, else the tenant's area. */
export function flowDir(flow: FlowRecord, areas: TenantAreas): string {
  if (flow.code !== undefined && flow.code !== null) return flow.code;
  if (flow.file !== null) return path.dirname(flow.file);
  return areas.area(flow.tenant).root;
}

/**
 * The registered flow as the predictor, the pools and the executor need it (a `LoadedFlow`):
 * built from the spec that was posted (not re-read from disk, so what runs is what was
 * registered), every path resolved inside the tenant's area (see {@link resolveFlowPaths}),
 * with the grant its workers hold. Cached per flow.
 */
export function loadedFlowOf(
  flow: FlowRecord,
  areas: TenantAreas,
  catalogue?: StoreCatalogue,
): Promise<LoadedFlow> {
  let result = loaded.get(flow);
  if (result === undefined) {
    result = (async (): Promise<LoadedFlow> => {
      const dir = flowDir(flow, areas);
      const paths = resolveFlowPaths(flow.spec, flow.tenant, areas, dir, catalogue);
      const base = {
        file: flow.file ?? path.join(dir, `${flow.name}.flow.yaml`),
        dir,
        spec: paths.spec,
        template: flow.template,
        functions: paths.functions,
      };
      return {
        ...base,
        grant: {
          tenant: flow.tenant,
          version: flowVersion(base),
          read: areas.readable(flow.tenant),
          stores: paths.stores,
        },
      };
    })();
    loaded.set(flow, result);
    result.catch(() => loaded.delete(flow));
  }
  return result;
}

/**
 * Where a tenant's calibration children run: a fresh folder in its area's `work/`, the minimal
 * environment, confined as the server's workers are (read: warmflow, the tenant's code and
 * shared roots; write: its work folder).
 */
export function calibrationSandbox(
  areas: TenantAreas,
  tenant: string,
  flow: LoadedFlow,
  mechanism: SandboxMechanism,
): CalibrationSandbox {
  const area = areas.area(tenant);
  const cwd = path.join(area.work, 'calibration');
  mkdirSync(cwd, { recursive: true, mode: 0o700 });
  return {
    cwd,
    env: minimalEnv(cwd, { WARMFLOW_TENANT: tenant, WARMFLOW_TEMPLATE: flow.template.name }),
    spec: {
      mechanism,
      writable: [cwd],
      readable: [...installPaths(), area.code, area.data, ...areas.sharedRoots],
      cwd,
    },
  };
}
