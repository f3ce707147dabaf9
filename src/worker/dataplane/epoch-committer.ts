import { WarmflowError } from '../../errors.js';
import { canCommitEpochs, type EpochCommit } from '../../stores/epoch-commit.js';
import type { DeploySpec } from './deploy-spec.js';
import type { EpochStage } from './batch-executor.js';
import type { RunStores } from './run-stores.js';

/** What one epoch's commit did. */
export interface EpochCommitResult {
  /** Records written to stores now (0 when every store already held the epoch: a replay). */
  written: number;
  /** Records of the epoch a store already held (skipped). */
  skipped: number;
  /** Every keyed node's changed state of the epoch, for the checkpoint. */
  state: Record<string, Array<[string, unknown]>>;
}

/**
 * Commits one checkpoint epoch of a resource, once its threads handed over what they
 * staged: per persistent store, one {@link EpochCommit} holding every write node's records
 * of the epoch (in input-position order, so a replay builds the same commit whichever
 * thread read which chunk) and the changed keyed state of nodes whose state lives there,
 * under the marker `(writer, epoch)`. A store that already holds the epoch writes nothing.
 */
export class EpochCommitter {
  readonly #spec: DeploySpec;
  readonly #stores: RunStores;
  readonly #writer: string;

  constructor(spec: DeploySpec, stores: RunStores) {
    this.#spec = spec;
    this.#stores = stores;
    this.#writer = spec.checkpoint!.writer;
  }

  async commit(epoch: number, stages: readonly EpochStage[]): Promise<EpochCommitResult> {
    const byStore = new Map<string, EpochCommit>();
    const commitFor = (store: string): EpochCommit => {
      let commit = byStore.get(store);
      if (commit === undefined)
        byStore.set(store, (commit = { writer: this.#writer, epoch, puts: [], appends: [] }));
      return commit;
    };
    const items = new Map<
      string,
      {
        store: string;
        type: string;
        keyed: boolean;
        items: Array<[number, string | null, unknown]>;
      }
    >();
    for (const stage of stages)
      for (const write of stage.writes) {
        let merged = items.get(write.node);
        if (merged === undefined)
          items.set(
            write.node,
            (merged = { store: write.store, type: write.type, keyed: write.keyed, items: [] }),
          );
        for (const item of write.items) merged.items.push(item);
      }
    let count = 0;
    const counts = new Map<string, number>();
    for (const merged of items.values()) {
      sortByPosition(merged.items);
      const commit = commitFor(merged.store);
      if (merged.keyed)
        commit.puts.push({
          namespace: `type/${merged.type}`,
          entries: merged.items.map(([, key, value]) => [key!, value]),
        });
      else
        commit.appends.push({
          table: merged.type,
          records: merged.items.map(([, , value]) => value),
        });
      counts.set(merged.store, (counts.get(merged.store) ?? 0) + merged.items.length);
      count += merged.items.length;
    }
    const state: Record<string, Array<[string, unknown]>> = {};
    for (const stage of stages)
      for (const [node, changes] of Object.entries(stage.state)) {
        if (changes.length === 0) continue;
        (state[node] ??= []).push(...changes);
      }
    for (const [node, changes] of Object.entries(state)) {
      const store = this.#spec.state_stores[node];
      if (store === undefined || this.#spec.stores[store]?.kind === 'memory') continue;
      commitFor(store).puts.push({
        namespace: `state/${this.#spec.template.name}/${node}`,
        entries: changes,
      });
    }
    let skipped = 0;
    for (const [name, commit] of byStore) {
      const store = await this.#stores.persistent(name, this.#spec.stores[name]);
      if (!canCommitEpochs(store))
        throw new WarmflowError(
          'E_CHECKPOINT',
          `store "${name}" (${store.kind}) cannot commit epochs`,
        );
      if (!(await store.commitEpoch(commit))) skipped += counts.get(name) ?? 0;
    }
    return { written: count - skipped, skipped, state };
  }
}

/** Input-position order; records of one position (a flat-map) by their JSON text. */
function sortByPosition(items: Array<[number, string | null, unknown]>): void {
  const texts = new Map<unknown, string>();
  const text = (v: unknown): string => {
    let t = texts.get(v);
    if (t === undefined) texts.set(v, (t = JSON.stringify(v) ?? ''));
    return t;
  };
  items.sort((a, b) => {
    if (a[0] !== b[0]) return a[0] - b[0];
    const ta = text(a[2]);
    const tb = text(b[2]);
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}
