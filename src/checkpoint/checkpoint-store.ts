import type { CheckpointPosition } from '../worker/dataplane/deploy-spec.js';

/** What the orchestrator's JSONL sinks held when a checkpoint was taken. */
export interface SinkSnapshot {
  /** Per output type (dead letters included): bytes and records written. */
  files: Record<string, { bytes: number; records: number }>;
}

/** One recorded checkpoint of one resource of a run (a placement group: `part`). */
export interface Checkpoint extends CheckpointPosition {
  sinks: SinkSnapshot;
  /** Chunk bytes per source, to say how many input lines a recovery read again. */
  chunk_bytes: number[];
  /** Epoch ms it was recorded. */
  at: number;
}

/** A run the checkpoint store knows of, for resuming after the orchestrator died. */
export interface CheckpointedRun {
  run: string;
  /** The request as the front door gave it (JSON), to run it again. */
  request: unknown;
  /** Process id of the orchestrator that ran it last. */
  pid: number;
  started_at: number;
}

/**
 * Where checkpoints are kept: the run's home database (SQLite under `WARMFLOW_HOME`). A
 * checkpoint and the keyed state it covers are saved in one transaction, so what `latest`
 * answers is always one consistent checkpoint. Each save keeps that epoch's state changes;
 * `latest` applies every epoch's changes up to the checkpoint in order.
 */
export interface CheckpointStore {
  /** Registers a run about to start (replaces an earlier registration of the same id). */
  begin(run: string, request: unknown): Promise<void>;
  /** Saves a checkpoint with the keyed state changed since the previous one. */
  save(
    run: string,
    part: number,
    checkpoint: Checkpoint,
    /** `{node: [[item key, value]…]}`, or that as JSON text (as the resource sent it). */
    changes: Record<string, Array<[string, unknown]>> | string,
  ): Promise<void>;
  /** The latest checkpoint of a run's part with the state it covers, or null. */
  latest(
    run: string,
    part: number,
  ): Promise<{ checkpoint: Checkpoint; state: Record<string, Array<[string, unknown]>> } | null>;
  /** Runs registered and not finished. */
  unfinished(): Promise<CheckpointedRun[]>;
  /** Forgets a run (it ended: succeeded or failed for good). */
  finish(run: string): Promise<void>;
  close(): Promise<void>;
}
