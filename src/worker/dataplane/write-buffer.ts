import type { DataStore } from '../../stores/store.js';
import type { NodeStats } from './deploy-spec.js';
import { fieldOf, keyString } from './node-context.js';
import type { Route } from './node-graph.js';
import { onCpuMs } from './on-cpu-clock.js';

/** A write node's route to its store. */
export type StoreRoute = Extract<Route, { kind: 'store' }>;

/**
 * One write node's records of a checkpoint epoch, held until the epoch commits: `items` are
 * `[input position, key or null (appended), record]`.
 */
export interface StagedWrite {
  node: string;
  store: string;
  type: string;
  /** Keyed type (`putMany` into `type/<T>`) or appended rows. */
  keyed: boolean;
  items: Array<[number, string | null, unknown]>;
}

interface Pending {
  route: StoreRoute;
  store: DataStore;
  entries: Array<[string, unknown]>;
  rows: unknown[];
}

/**
 * The records write nodes send to stores. Without checkpoints they are written once per
 * batch (`flush`: one `putMany` or `append` per node). With checkpoints, writes to
 * persistent stores are staged with their input positions until the epoch ends
 * (`takeStaged`), when the resource commits each store's share in one transaction with the
 * epoch's marker; writes to a run's memory stores (which die with the resource) go at once.
 */
export class WriteBuffer {
  readonly #stores: ReadonlyMap<string, DataStore>;
  readonly #staging: boolean;
  #pending = new Map<string, Pending>();
  #staged = new Map<string, StagedWrite>();
  /** Staged records already counted into the node's stats, by node. */
  readonly #counted = new Map<string, number>();
  #stored = false;

  constructor(stores: ReadonlyMap<string, DataStore>, options: { staging: boolean }) {
    this.#stores = stores;
    this.#staging = options.staging;
  }

  add(route: StoreRoute, recs: readonly unknown[], pos: readonly number[]): void {
    const store = this.#stores.get(route.store)!;
    if (this.#staging && store.kind !== 'memory') {
      let staged = this.#staged.get(route.node);
      if (staged === undefined) {
        staged = {
          node: route.node,
          store: route.store,
          type: route.type,
          keyed: route.key !== undefined,
          items: [],
        };
        this.#staged.set(route.node, staged);
      }
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i];
        staged.items.push([
          pos[i],
          route.key === undefined ? null : keyString(fieldOf(r, route.key)),
          r,
        ]);
      }
      return;
    }
    let write = this.#pending.get(route.node);
    if (write === undefined) {
      write = { route, store, entries: [], rows: [] };
      this.#pending.set(route.node, write);
    }
    for (const r of recs) {
      if (route.key === undefined) write.rows.push(r);
      else write.entries.push([keyString(fieldOf(r, route.key)), r]);
    }
  }

  /**
   * Writes what is pending, one call per node; counts each node's records into `stats`
   * (staged records too: they are the node's output). Returns whether anything was stored.
   */
  async flush(stats: (node: string) => NodeStats): Promise<boolean> {
    let wrote = false;
    for (const staged of this.#staged.values()) {
      const fresh = staged.items.length - (this.#counted.get(staged.node) ?? 0);
      if (fresh > 0) {
        const s = stats(staged.node);
        s.records_in += fresh;
        s.records_out += fresh;
        this.#counted.set(staged.node, staged.items.length);
      }
    }
    if (this.#pending.size === 0) return false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [node, write] of pending) {
      const started = onCpuMs();
      const count = write.entries.length + write.rows.length;
      if (write.entries.length > 0)
        await write.store.putMany(`type/${write.route.type}`, write.entries);
      if (write.rows.length > 0) await write.store.append(write.route.type, write.rows);
      const s = stats(node);
      s.records_in += count;
      s.records_out += count;
      s.busy_ms += onCpuMs() - started;
      if (count > 0) wrote = true;
    }
    if (wrote && !this.#stored) {
      this.#stored = true;
      return true;
    }
    return false;
  }

  /** The epoch's staged writes, handed over (the buffer starts the next epoch empty). */
  takeStaged(): StagedWrite[] {
    const staged = [...this.#staged.values()];
    this.#staged = new Map();
    this.#counted.clear();
    return staged;
  }
}
