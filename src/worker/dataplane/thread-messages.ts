import type { Columns } from './record-columns.js';
export { DEAD_LETTER_TYPE } from '../worker-contract.js';
import type { ErrorCode } from '../../errors.js';
import type { WarmSpec } from '../worker-contract.js';
import type { WorkerGrant } from '../../template/types.js';
import type { ChannelIdentity } from './output-channels.js';
import type { EpochStage } from './batch-executor.js';
import type { DeployTemplate, NodeStats, RunSpec } from './deploy-spec.js';

/** Messages from the worker's main thread to a data-plane thread. */
export type ToThread =
  /** `next`: the counters of the thread's next run (`run-counters.ts`). */
  | { k: 'warm'; warm: WarmSpec; index: number; count: number; next: SharedArrayBuffer }
  /**
   * Open the thread's output channel (`OutputChannels`) on `host`, checking hellos against the
   * pool token's `digest`; answered by `listening`.
   */
  | {
      k: 'listen';
      host: string;
      digest: Uint8Array;
      identity: ChannelIdentity;
      /** What the worker may run (checked before a run taken from the channel starts). */
      grant?: WorkerGrant;
    }
  | {
      k: 'deploy';
      /** The run part of the spec; its template part is `template`, or the one held under its id. */
      spec: RunSpec;
      /** The template part, when the thread does not hold it (kept when the spec names an id). */
      template?: DeployTemplate;
      /** A template to drop (the main thread keeps as many as the threads). */
      forget?: string;
      /** The run's counters, claimed for it (`run-counters.ts`). */
      counters: SharedArrayBuffer;
      /** The counters of the next run, which a run taken from the channel uses. */
      next: SharedArrayBuffer;
      /** Checkpointed state of this thread's keys, per keyed node (`[item key, value]`). */
      restore?: Record<string, Array<[string, unknown]>>;
      /** A checkpointed run of file sources: its first epoch (as `epoch`'s limits). */
      limits?: number[];
      /** Send output over this output channel (`df.run`'s `out`), not to the main thread. */
      out?: string;
      /** A warm-up run: the spec's functions are warmflow's own (`WARM_UP_FUNCTIONS`). */
      warmUp?: boolean;
    }
  /** A deploy template to hold ahead of the runs that will name it (`df.template`). */
  | { k: 'template'; id: string; template: DeployTemplate; forget?: string }
  | { k: 'push'; source: string; seq: number; data: string }
  | { k: 'end'; counts: Record<string, number> }
  | { k: 'drain' }
  /** A commit point: pushed batches below `counts[source]` must be fully processed before `drained`. */
  | { k: 'barrier'; counts: Record<string, number> }
  /** Answer `synced` once every output produced so far is acknowledged by the orchestrator. */
  | { k: 'sync' }
  /** A checkpoint epoch starts: read file chunks below `limits[source index]`. */
  | { k: 'epoch'; limits: number[] }
  /**
   * The epoch is drained and synced: hand over its staged writes and state changes
   * (`state: false`: its writes only — a run's last epoch whose state no store keeps).
   */
  | { k: 'stage'; state?: boolean }
  | { k: 'finish' }
  | { k: 'out-ack' }
  /**
   * Drop the current run; with `stopped`, answer `stopped` after it (nothing of it follows).
   * With `run`: only a run of that execution that the thread took from its channel (the worker
   * refused its `df.run`), and never take it later.
   */
  | { k: 'cancel'; stopped?: boolean; run?: string };

/** Messages from a data-plane thread to the worker's main thread. */
export type FromThread =
  | { k: 'ready'; loaded: string[] }
  /** The output channel's address, or why it could not be opened. */
  | { k: 'listening'; address: string; error?: undefined }
  | { k: 'listening'; address?: undefined; error: string }
  | { k: 'deployed' }
  | { k: 'push-ack'; source: string; seq: number }
  | { k: 'source-done' }
  | { k: 'drained'; activity: number }
  | { k: 'synced' }
  | ({ k: 'staged'; nodes: Record<string, NodeStats> } & EpochStage)
  | {
      k: 'finished';
      nodes: Record<string, NodeStats>;
      /** A run deployed with `handover`: this thread's keyed state, per node. */
      state?: Record<string, Array<[string, unknown]>>;
    }
  | { k: 'out'; node: string; type: string; count: number; lines: string }
  | { k: 'first-store-write'; at: number }
  /** The answer to `cancel` with `stopped`: the dropped run sends nothing more. */
  | { k: 'stopped' }
  | { k: 'failed'; error: { code: ErrorCode; message: string; node_id?: string } };

/** Records for keyed nodes of one partition, by node. */
export interface ExchangeItem {
  node: string;
  recs: unknown[];
  pos: number[];
  /** On the way between threads: the records as columns (`recs` empty), see `packItems`. */
  columns?: Columns;
  /** On the way between threads: the positions (`pos` empty). */
  positions?: Float64Array;
}

/**
 * Messages between two data-plane threads. `o`: the records of source chunk `chunk` that the
 * receiver owns (sent even when empty, so owners can go in chunk order); `wm`: the sender
 * has processed chunks below `next` of `source` (flow control of `o`); `x` / `a`: a batch
 * for a keyed node further down (FIFO with credits) and its acknowledgement. `r` is the
 * execution the message belongs to: on a warm resource a fast peer may already send for the
 * next run while the receiver is still between runs, and a slow one's last messages of a
 * run may trail into the next; each must reach the run it was sent in.
 */
export type PeerMessage = { r: string } & (
  | { k: 'o'; source: number; chunk: number; items: ExchangeItem[] }
  | { k: 'wm'; source: number; next: number }
  | { k: 'x'; items: ExchangeItem[] }
  | { k: 'a' }
);

/** Positions carry their source's index above this factor, the byte offset or line below it. */
export const POSITION_SOURCE_FACTOR = 2 ** 40;
