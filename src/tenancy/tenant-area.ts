import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * One tenant's folder on the server: everything a tenant's processes may write, and
 * (with the admin's shared read-only roots) everything they may read.
 *
 * - `code/<hash>/` — uploaded bundles, content-addressed per flow version (read-only to the tenant's processes)
 * - `data/` — sqlite stores, uploaded inputs, anything a flow names by relative path
 * - `work/` — working directories, logs and sockets of the tenant's workers and calibration children
 */
export interface TenantArea {
  tenant: string;
  root: string;
  code: string;
  data: string;
  work: string;
}

/** Configuration of {@link TenantAreas}. */
export interface TenantAreasConfig {
  /** Folder holding one folder per tenant (default `$WARMFLOW_HOME/tenants`). */
  root: string;
  /**
   * Folders every tenant may read (the admin's `serve --root`): example code, shared data.
   * Never a way into the areas root or `denied`.
   */
  sharedRoots?: readonly string[];
  /** Paths no tenant may name even when a shared root contains them (the home folder: database, admin key). */
  denied?: readonly string[];
}

/** Makes a tenant name safe as one path segment. */
export function safeSegment(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 64) || '_'
  );
}

/** Whether `child` is `parent` or below it, compared by path segments (so `..x` is a name, not a parent). */
export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  if (relative === '') return true;
  if (path.isAbsolute(relative)) return false;
  return relative.split(path.sep)[0] !== '..';
}

/** The real path of `file`, or of its nearest existing ancestor joined with the rest (a file still to be made). */
export function realPathOf(file: string): string {
  let existing = file;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  try {
    return path.join(realpathSync(existing), ...rest);
  } catch {
    return file;
  }
}

/**
 * The tenant areas of one server, and the one rule every path a tenant names goes through:
 * {@link TenantAreas.resolve}.
 *
 * ```ts
 * const areas = new TenantAreas({ root: '/srv/warmflow/tenants', sharedRoots: ['/srv/examples'] });
 * const file = areas.resolve('alice', './data/clicks.jsonl'); // null when outside what alice may read
 * ```
 */
export class TenantAreas {
  readonly #config: Readonly<TenantAreasConfig>;
  readonly #made = new Map<string, TenantArea>();

  constructor(config: TenantAreasConfig) {
    this.#config = Object.freeze({ ...config, root: path.resolve(config.root) });
  }

  /** Folder holding every tenant's area. */
  get root(): string {
    return this.#config.root;
  }

  /** The admin's shared read-only folders. */
  get sharedRoots(): readonly string[] {
    return (this.#config.sharedRoots ?? []).map((root) => path.resolve(root));
  }

  /** The tenant's area, created (mode 0700) on first use. */
  area(tenant: string): TenantArea {
    const made = this.#made.get(tenant);
    if (made !== undefined) return made;
    const root = path.join(this.#config.root, safeSegment(tenant));
    const area: TenantArea = {
      tenant,
      root,
      code: path.join(root, 'code'),
      data: path.join(root, 'data'),
      work: path.join(root, 'work'),
    };
    mkdirSync(this.#config.root, { recursive: true, mode: 0o711 });
    for (const dir of [root, area.code, area.data, area.work])
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#made.set(tenant, area);
    return area;
  }

  /** Folders `tenant` may read: its area, then the shared roots. */
  readable(tenant: string): string[] {
    return [this.area(tenant).root, ...this.sharedRoots];
  }

  /**
   * Resolves `requested` (relative to `base`, default the tenant's area) and returns it only
   * when it lies inside the tenant's area or a shared root — compared by path segments, after
   * following symlinks — and not inside another tenant's area or a denied path. Null otherwise:
   * callers answer the same whether or not the path exists.
   */
  resolve(tenant: string, requested: string, base?: string): string | null {
    const area = this.area(tenant);
    if (requested.includes('\0')) return null;
    const resolved = path.resolve(base ?? area.root, requested);
    const real = realPathOf(resolved);
    const ownArea = realPathOf(area.root);
    if (isInside(area.root, resolved) && isInside(ownArea, real)) return resolved;
    const forbidden = [this.#config.root, ...(this.#config.denied ?? [])].map((p) =>
      path.resolve(p),
    );
    if (forbidden.some((p) => isInside(p, resolved) || isInside(realPathOf(p), real))) return null;
    const shared = this.sharedRoots.some(
      (root) => isInside(root, resolved) && isInside(realPathOf(root), real),
    );
    return shared ? resolved : null;
  }

  /** Whether `file` (already absolute) is somewhere `tenant` may write: its own area only. */
  writable(tenant: string, file: string): boolean {
    const area = this.area(tenant);
    return isInside(area.root, file) && isInside(realPathOf(area.root), realPathOf(file));
  }
}
