import type { DataStore } from './store.js';

/**
 * One checkpoint epoch's writes to one store, applied as one unit with the epoch's marker.
 * `writer` names who writes (an execution's resource: `<execution>/<group>`); epochs of one
 * writer are committed in increasing order, so a store keeps only the last one per writer.
 */
export interface EpochCommit {
  writer: string;
  epoch: number;
  /** Keyed writes per namespace (`undefined` deletes), in order: the last entry of a key wins. */
  puts: Array<{ namespace: string; entries: Array<[string, unknown]> }>;
  /** Rows per append-only table, in order. */
  appends: Array<{ table: string; records: unknown[] }>;
}

/**
 * What a store offers for exactly-once writes: `commitEpoch` applies the epoch's writes
 * and records `(writer, epoch)` in one transaction, or writes nothing and resolves `false`
 * when that writer's marker is already at `epoch` or past it (a replay after a recovery).
 * `committedEpoch` reads the marker (-1: none).
 */
export interface EpochCommitter {
  commitEpoch(commit: EpochCommit): Promise<boolean>;
  committedEpoch(writer: string): Promise<number>;
}

/** Whether a store commits epochs (every persistent store does; see docs/recovery.md). */
export function canCommitEpochs(store: DataStore): store is DataStore & EpochCommitter {
  return typeof (store as Partial<EpochCommitter>).commitEpoch === 'function';
}
