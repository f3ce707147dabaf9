import type { ErrorCode } from '../errors.js';
import type { DriftEvent } from '../profiler/drift.js';
import type { LiveDcp } from '../profiler/live-window.js';
import type { LiveResize, LiveSpares } from './live-resizer.js';
import type { Rpr } from '../predictor/rpr.js';
import type { StorageType } from '../predictor/placement/network-storage.js';

/** What one node really did and used during a run, next to what it was given. */
export interface NodeCompletion {
  node_id: string;
  kind: 'function' | 'read' | 'write' | 'source';
  records_in: number;
  records_out: number;
  dead_lettered: number;
  /** Measured on the resource: user + system CPU seconds spent on this node. */
  cpu_seconds: number;
  /** cpu_seconds * 1e6 / records_in (0 when no input). */
  cpu_us_per_record: number;
  /** Peak resident memory of the resource while it ran this node, in bytes. */
  peak_memory_bytes: number;
  /** Distinct keys held in state at the end (keyed functions). */
  state_keys?: number;
  /**
   * The first record this node dead-lettered: the error's type, message, stack and the
   * user's `file:line:column` (for a source, the first malformed line). Absent when none.
   */
  first_error?: { type: string; message: string; stack?: string; location?: string };
  records_per_s: number;
  /** The RPR the node ran on (null for nodes run in the orchestrator). */
  rpr: Rpr | null;
  /** The resource that ran it. */
  resource_id: string | null;
  /** Whether that resource came from the warm pool. */
  warm: boolean;
  /**
   * Measured: megabits per second the node's records moved across resource and store
   * boundaries over the run (the RPR's rule on the records it really moved; docs/predictor.md).
   */
  network_bandwidth_mbps?: number;
  /** Measured: where the node's data really lived (the store it used). */
  storage_type?: StorageType;
}

/**
 * The Dataflow Completion Status, `warmflow run --json`'s output and what
 * history learns from. Field names are a public contract.
 */
export interface CompletionStatus {
  execution_id: string;
  template: string;
  tenant: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  /** Present when outcome is not succeeded: what failed, where. */
  error?: { code: ErrorCode; message: string; node_id?: string };
  /** Whether resources came from the warm pool, on-demand, or both. */
  provisioning: 'warm' | 'on_demand' | 'mixed';
  /**
   * Present when a warm set was claimed for this execution but could not be used (its
   * resources are not grouped as the execution places nodes): why, and that the execution
   * ran on on-demand resources instead.
   */
  pool_note?: string;
  started_at: string;
  finished_at: string;
  timings: {
    /** Execution request received -> first output record written by any sink. */
    request_to_first_record_ms: number | null;
    request_to_ready_ms: number;
    total_ms: number;
    /**
     * Present when no warm set was ready at the request but one was warming, and the run
     * waited for it rather than start on-demand resources: how long it waited (part of the
     * other timings).
     */
    pool_wait_ms?: number;
  };
  records: { in: number; out: number; dead_lettered: number };
  dead_letter_file: string | null;
  /**
   * Where every output type went, with counts: a store (its name and kind, and the key
   * space `type/<T>` records are under) or a JSONL file (its path).
   */
  outputs?: Array<{
    type: string;
    node_id: string;
    records: number;
    store?: string;
    store_kind?: string;
    key_space?: string;
    file?: string;
  }>;
  nodes: NodeCompletion[];
  /**
   * Facts observed about the resources during the run that the predictor must learn
   * from, e.g. a worker killed for exceeding its memory (`oom_killed`), one entry per
   * node it ran. Absent when nothing happened.
   */
  events?: Array<{ node_id: string; event: 'oom_killed'; resource_id: string; detail: string }>;
  /**
   * Checkpointed runs: the interval, the epochs committed, and one entry per recovery
   * (a resource that died and the run continued on another from its last checkpoint).
   */
  checkpoints?: {
    interval_ms: number;
    epochs: number;
    recoveries: Recovery[];
  };
  /**
   * A run on live streams: messages acknowledged to their groups (every output of theirs
   * written first), those left unacknowledged (a failed run: redelivered to the next run
   * of the group), and per stream what was read and why reading stopped.
   */
  live?: {
    acknowledged: number;
    unacknowledged: number;
    commits: number;
    sources: Record<
      string,
      {
        url: string;
        group: string;
        messages: number;
        /** Messages that were not records (each dead-lettered with its sequence or entry id). */
        malformed: number;
        /** The first of them (at most 10), by stream sequence (NATS) or entry id (Redis). */
        first_malformed?: Array<{ sequence?: number; id?: string; error: string }>;
        stopped_by: 'signal' | 'idle' | 'max_records' | 'failure';
        /** Messages of the group not acknowledged at the end (pending + unread); null if unknown. */
        lag: number | null;
        /** The real-time DCP of what the run read: the last 60 s and everything. */
        dcp?: LiveDcp;
      }
    >;
    /** Drift events: the live window moved away from the DCP the RPRs were made from. */
    drift: DriftEvent[];
    /**
     * A run resized while it ran (`live.resize` of the request): every resize decided,
     * oldest first (a refused one has `error`), and the size it ended on.
     */
    resizes?: LiveResize[];
    size?: { cpu_cores: number; resource_id: string };
    /** Why a run that asked to be resized was not (e.g. no CPU per record to size from). */
    resize_note?: string;
    /**
     * Resources warmed ahead of a grow the policy leaned to: started, taken by a grow,
     * released unused (the lean went, or the run ended), not had (no capacity).
     */
    spares?: LiveSpares;
    /**
     * What a death of its resource could do to the outputs: `exactly_once` when the run was
     * checkpointed (docs/streams.md), else `at_least_once` — a redelivered message's outputs
     * may be written twice — with `why` it was not checkpointed.
     */
    delivery: { guarantee: 'exactly_once' | 'at_least_once'; why?: string };
  };
}

/** One recovery of a checkpointed run. */
export interface Recovery {
  /** When the death was detected (ISO time). */
  at: string;
  /** The resource that died, why (the provider's exit reason when it had one), and its error code. */
  resource_id: string;
  reason: string;
  code: string;
  /** The checkpoint the run continued from (-1: none yet, from the start). */
  checkpoint_epoch: number;
  /** Input lines the new resource reads again: from the checkpoint to where the dead one had read (as last reported). */
  records_replayed: number;
  /** The resource it continued on, and whether it came from the warm pool. */
  replacement_resource_id: string;
  warm: boolean;
  /** Milliseconds from the death detected to the replacement deployed. */
  resumed_after_ms: number | null;
}
