import type { StoreSpec } from '../template/types.js';
import { openStore } from './open-store.js';
import type { DataStore } from './store.js';

/**
 * Connections to persistent stores that a long-lived orchestrator (a warm pool's owner: the
 * server, `warmflow serve`) keeps between runs, so that preparing a warm run — dropping the
 * last execution's keyed state, checking a seed's marker — costs a round trip, not a new
 * connection (PostgreSQL: about 4 ms to connect on this machine, Redis about 1 ms). One
 * connection per store name and spec (a tenant's prefix is part of its spec). A use that
 * fails closes and forgets its connection: the next one connects again.
 */
export class StoreConnections {
  readonly #open = new Map<string, Kept>();
  #closed = false;

  /** Runs `work` with the store's kept connection, opened on first use. */
  async use<T>(name: string, spec: StoreSpec, work: (store: DataStore) => Promise<T>): Promise<T> {
    if (this.#closed) {
      // Closed (the owner is shutting down): a run still preparing gets a connection of its own.
      const store = await openStore(name, spec);
      try {
        return await work(store);
      } finally {
        await store.close();
      }
    }
    const key = `${name}\u0000${JSON.stringify(spec)}`;
    let kept = this.#open.get(key);
    if (kept === undefined) {
      const opening = openStore(name, spec);
      kept = { store: opening, users: 0, stale: false };
      this.#open.set(key, kept);
      const entry = kept;
      opening.catch(() => this.#forget(key, entry));
    }
    kept.users++;
    try {
      return await work(await kept.store);
    } catch (error) {
      // Maybe a broken connection: the next use connects again; this one closes once unused.
      this.#forget(key, kept);
      throw error;
    } finally {
      kept.users--;
      if (kept.stale && kept.users === 0) await closeKept(kept);
    }
  }

  /** Connections kept now. */
  get size(): number {
    return this.#open.size;
  }

  /** Closes every kept connection (those in use once their users are done); later uses open their own. */
  async close(): Promise<void> {
    this.#closed = true;
    const kept = [...this.#open.values()];
    this.#open.clear();
    await Promise.allSettled(
      kept.map(async (entry) => {
        entry.stale = true;
        if (entry.users === 0) await closeKept(entry);
      }),
    );
  }

  #forget(key: string, kept: Kept): void {
    if (this.#open.get(key) === kept) this.#open.delete(key);
    kept.stale = true;
  }
}

/** A kept connection: how many uses hold it, and whether it is closed once they are done. */
interface Kept {
  store: Promise<DataStore>;
  users: number;
  stale: boolean;
}

async function closeKept(kept: Kept): Promise<void> {
  const store = await kept.store.catch(() => null);
  await store?.close().catch(() => undefined);
}
