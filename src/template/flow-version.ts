import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { StoreSpec, Template } from './types.js';

const codeHashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** sha256 of a module file, cached while its mtime and size stay the same; '' when unreadable. */
function hashFile(file: string): string {
  try {
    const stat = statSync(file);
    const cached = codeHashes.get(file);
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size)
      return cached.hash;
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    codeHashes.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, hash });
    return hash;
  } catch {
    return '';
  }
}

/** Relative specifiers in `import … from`, `export … from`, `import(…)`, `require(…)`, `import '…'`. */
const RELATIVE_IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"`])(\.{1,2}\/[^'"`\n]+)\1/g;
/**
 * TypeScript's type-only imports and re-exports (`import type … from`, `export type … from`):
 * erased when the code is compiled, so the files they name never run and are not followed.
 * (The examples' functions `import type` warmflow's own API, which made every warm request
 * stat hundreds of files.) `import { type A, b }` loads its module and is followed.
 */
const TYPE_ONLY_IMPORT =
  /\b(?:import|export)\s+type\s+(?:\{[^}]*\}|\*\s+as\s+[\w$]+|[\w$]+)\s+from\s*(['"`])[^'"`\n]+\1/g;
/** Most files one function's code is followed through. */
const MAX_CODE_FILES = 2000;
const imports = new Map<string, { hash: string; deps: string[] }>();

/** The file a relative specifier names, as Node or a TypeScript loader would find it, or null. */
function resolveRelative(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier.split(/[?#]/)[0]);
  const candidates = [base];
  const ts = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts', '.jsx': '.tsx' }[path.extname(base)];
  if (ts !== undefined) candidates.push(base.slice(0, -path.extname(base).length) + ts);
  for (const ext of ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.tsx', '.json'])
    candidates.push(base + ext, path.join(base, `index${ext}`));
  for (const file of candidates) {
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not this one
    }
  }
  return null;
}

/** The relative imports of `file` (whose content hash is `hash`), cached per content. */
function importsOf(file: string, hash: string): string[] {
  const cached = imports.get(file);
  if (cached !== undefined && cached.hash === hash) return cached.deps;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // unreadable: no imports to follow
  }
  const deps = new Set<string>();
  for (const match of text.replace(TYPE_ONLY_IMPORT, '').matchAll(RELATIVE_IMPORT)) {
    const dep = resolveRelative(file, match[2]);
    if (dep !== null) deps.add(dep);
  }
  imports.set(file, { hash, deps: [...deps] });
  return [...deps];
}

/**
 * The hash of a function's code: its module file and every file it reaches through relative
 * imports (static `import`/`export … from`, `import('./…')`, `require('./…')` with a literal
 * specifier), so changing a helper module changes the version too. Imports built at run time
 * and files read as data are not followed.
 */
export function codeHash(module: string): string {
  // Every file the last hash followed, stat'ed again: a request pays one stat per file, not
  // the hashes as well (a warm request's path), and any change of a file's mtime or size
  // (an edit, a new import in it) walks the imports again.
  const last = moduleHashes.get(module);
  if (last !== undefined && last.files.every(unchanged)) return last.hash;
  const seen = new Set<string>([module]);
  const queue = [module];
  const parts: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const hash = hashFile(file);
    parts.push(`${path.relative(path.dirname(module), file)}\u0001${hash}`);
    for (const dep of importsOf(file, hash))
      if (!seen.has(dep) && seen.size < MAX_CODE_FILES) {
        seen.add(dep);
        queue.push(dep);
      }
  }
  const hash = createHash('sha256').update(parts.sort().join('\n')).digest('hex');
  moduleHashes.set(module, { files: [...seen], hash });
  return hash;
}

/** Each module's last {@link codeHash}, with the files it followed. */
const moduleHashes = new Map<string, { files: string[]; hash: string }>();

/** Whether `file` has the mtime and size its cached hash was taken at (false when unreadable or not hashed). */
function unchanged(file: string): boolean {
  const cached = codeHashes.get(file);
  if (cached === undefined) return false;
  try {
    const stat = statSync(file);
    return stat.mtimeMs === cached.mtimeMs && stat.size === cached.size;
  } catch {
    return false;
  }
}

/** Each flow object's last version, with the code it was taken for. */
const versions = new WeakMap<object, { code: string; version: string }>();

/**
 * The version of a flow as pools and workers know it: a hash of the template's shape, each
 * function's module (path, export and the hash of its code, {@link codeHash}) and the store
 * catalogue.
 * A warm pool serves only the version it was filled for, so re-registering a flow with new code
 * under the same name never runs the old code, also when only a module it imports changed.
 *
 * ```ts
 * flowVersion(flow) === flowVersion(sameFlowReloaded); // true until a function's code changes
 * ```
 */
export function flowVersion(flow: {
  template: Pick<Template, 'nodes' | 'edges'>;
  functions: ReadonlyArray<{ name: string; module: string | null; export: string }>;
  spec?: { stores?: Record<string, StoreSpec> };
}): string {
  const code = flow.functions
    .map((f) => [f.name, f.module ?? '', f.export, f.module === null ? '' : codeHash(f.module)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // The shape and stores of a loaded flow do not change: only its code is looked at again.
  const codeKey = code.map((c) => c.join('\u0001')).join('\u0000');
  const last = versions.get(flow);
  if (last !== undefined && last.code === codeKey) return last.version;
  const nodes = flow.template.nodes
    .map((n) => [n.id, n.kind, n.type ?? '', n.key ?? '', n.data_store ?? ''].join('\u0001'))
    .sort();
  const edges = flow.template.edges.map((e) => [e.from, e.to, e.type].join('\u0001')).sort();
  const stores = Object.entries(flow.spec?.stores ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const version = createHash('sha256')
    .update(JSON.stringify({ nodes, edges, code, stores }))
    .digest('hex')
    .slice(0, 32);
  versions.set(flow, { code: codeKey, version });
  return version;
}
