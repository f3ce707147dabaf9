import { lstat, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { QuotaExceededError, type Quotas } from '../tenancy/quotas.js';
import type { TenantAreas } from '../tenancy/tenant-area.js';

/**
 * The bytes of the regular files under `dir` (symlinks are not followed; a file that goes
 * away while it is counted counts 0). Walked with the asynchronous fs calls, so a large
 * area never holds the event loop for the whole walk.
 */
export async function folderBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries)
    if (entry.isDirectory()) total += await folderBytes(path.join(dir, entry.name));
  const sizes = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) =>
        lstat(path.join(dir, entry.name)).then(
          (s) => s.size,
          () => 0, // deleted meanwhile
        ),
      ),
  );
  for (const size of sizes) total += size;
  return total;
}

/** The run folders of a tenant (`<area>/data/runs/<execution id>`), oldest first. */
async function runFolders(runsDir: string): Promise<Array<{ id: string; dir: string }>> {
  let names: string[];
  try {
    names = (await readdir(runsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
  const dated = await Promise.all(
    names.map(async (id) => {
      const dir = path.join(runsDir, id);
      try {
        return { id, dir, mtime: (await stat(dir)).mtimeMs };
      } catch {
        return { id, dir, mtime: 0 };
      }
    }),
  );
  return dated.sort((a, b) => a.mtime - b.mtime).map(({ id, dir }) => ({ id, dir }));
}

/**
 * The `disk_bytes` quota: what a tenant's area holds on the server's disk (code bundles,
 * posted inputs, run outputs, store files) plus what admitted requests are about to write
 * must fit. Admissions of one tenant run one at a time (measure, check, reserve), so
 * concurrent requests cannot together overshoot. When a request does not fit, the tenant's
 * oldest finished run folders are deleted first, as `--keep-runs` deletes them; what remains
 * (code, stores, runs in flight) is never deleted, and a request that still does not fit is
 * refused with 507 naming the tenant's own quota.
 */
export class TenantDisk {
  readonly #areas: TenantAreas;
  readonly #reserved = new Map<string, number>();
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(areas: TenantAreas) {
    this.#areas = areas;
  }

  /** Bytes of the files in the tenant's area now. */
  used(tenant: string): Promise<number> {
    return folderBytes(this.#areas.area(tenant).root);
  }

  /** Bytes admitted requests of the tenant have reserved and not yet released. */
  reserved(tenant: string): number {
    return this.#reserved.get(tenant) ?? 0;
  }

  /**
   * Admits a request that will write about `bytes` into the tenant's area (0: it writes
   * something, e.g. a run's outputs, of a size not known ahead; it is admitted only while
   * the area is under its quota). Returns the function that releases the reservation, to
   * be called once the bytes are written (they are then measured) or were not. `busy`
   * names run folders that must not be deleted to make room (runs in flight).
   */
  admit(
    tenant: { id: string; quotas: Pick<Quotas, 'disk_bytes'> },
    bytes: number,
    busy: ReadonlySet<string> = new Set(),
  ): Promise<() => void> {
    return this.#exclusive(tenant.id, async () => {
      const limit = tenant.quotas.disk_bytes;
      const wanted = Math.max(1, bytes);
      let used = (await this.used(tenant.id)) + this.reserved(tenant.id);
      if (used + wanted > limit) {
        const runsDir = path.join(this.#areas.area(tenant.id).data, 'runs');
        for (const run of await runFolders(runsDir)) {
          if (busy.has(run.id)) continue;
          await rm(run.dir, { recursive: true, force: true });
          used = (await this.used(tenant.id)) + this.reserved(tenant.id);
          if (used + wanted <= limit) break;
        }
      }
      if (used + wanted > limit) throw new QuotaExceededError('disk_bytes', limit, used + bytes);
      this.#reserved.set(tenant.id, this.reserved(tenant.id) + bytes);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = this.reserved(tenant.id) - bytes;
        if (left > 0) this.#reserved.set(tenant.id, left);
        else this.#reserved.delete(tenant.id);
      };
    });
  }

  /** Runs `fn` after every earlier admission of the tenant has finished. */
  #exclusive<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(tenant) ?? Promise.resolve();
    const result = before.then(fn, fn);
    const tail = result.catch(() => {});
    this.#queues.set(tenant, tail);
    void tail.then(() => {
      if (this.#queues.get(tenant) === tail) this.#queues.delete(tenant);
    });
    return result;
  }
}
