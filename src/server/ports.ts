/**
 * The small contracts the HTTP app is written against. Each is the subset of a
 * library part the server uses, so the app runs in tests with fakes and in
 * `warmflow serve` with the real template/profiler/predictor/provision/execute/
 * history implementations (see `wiring.ts`). Every call takes the tenant id: the
 * server never asks a part for something across tenants.
 */
import type { FlowSpec, Template } from '../template/types.js';
import type { LiveLimits } from '../execute/live-feeder.js';
import type { LiveReport } from './live-executions.js';
import type { Dcp } from '../profiler/dcp.js';
import type { Problem } from '../errors.js';
import type { Rpr } from '../predictor/rpr.js';
import type { Rac } from '../provision/rac.js';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { RunRecord } from '../history/history-store.js';

/** A flow registered by a tenant, with the template inferred from it. */
export interface FlowRecord {
  id: string;
  tenant: string;
  name: string;
  created_at: string;
  spec: FlowSpec;
  template: Template;
  /** Where the flow file lives on the server (resolves `module` and `source` paths), if given. */
  file: string | null;
  /** The folder of the code bundle uploaded with the flow (content-addressed, in the tenant's area), if any. */
  code?: string | null;
  /** The profile last posted for this flow, used by predict and executions by default. */
  profile_id: string | null;
}

/**
 * Turns flow text into a spec and its template; throws `ValidationError` listing
 * every problem. `file` is where the flow lives on the server, when the request said.
 */
export interface TemplatePort {
  compile(
    text: string,
    file: string | undefined,
    /** Whose document it is: tenants take turns when documents wait to be compiled. */
    tenant?: string,
    /** Aborted when the request is abandoned: a document still waiting is dropped. */
    signal?: AbortSignal,
  ): { spec: FlowSpec; template: Template } | Promise<{ spec: FlowSpec; template: Template }>;
  /**
   * {@link compile} from the request body's raw bytes: decoding, the empty-body check and,
   * with `maxDepth` (a JSON body), the depth bound run off the event loop too. A port
   * without it leaves such bodies to {@link compile}.
   */
  compileBody?(
    body: BodyPieces,
    file: string | undefined,
    options: { tenant?: string; maxDepth?: number; signal?: AbortSignal },
  ): Promise<CompileBodyResult>;
}

/** A request body's raw bytes, in the pieces it arrived in (see `readBodyPieces`). */
export type BodyPieces = readonly Uint8Array[];

/** What a raw flow body came to: its spec and template, or why it is refused. */
export type CompileBodyResult =
  { spec: FlowSpec; template: Template } | { refused: 'too_deep' | 'empty' };

/** What a profile is made from: records in the request, or a source path on the server. */
export type ProfileInput = { records: unknown[] } | { source: string };

/** Builds a DCP. */
export interface ProfilerPort {
  profile(
    input: ProfileInput,
    options: {
      tenant: string;
      flow: FlowRecord | undefined;
      /** Aborted when the request is abandoned: profiling still waiting is dropped. */
      signal?: AbortSignal;
    },
  ): Promise<Dcp>;
  /**
   * Profiles a `POST /v1/profiles` JSON body given as its raw bytes: decoding, the depth
   * bound, parsing and the request schema all run off the event loop (an implementation
   * without it leaves such bodies to the route's validator and {@link profile}).
   */
  profileBody?(
    body: BodyPieces,
    options: { tenant: string; maxDepth: number; signal?: AbortSignal },
  ): Promise<ProfileBodyResult>;
}

/**
 * What a raw profile body came to: the DCP of its records, the source it names (the route
 * resolves and profiles it), or why it is refused — nested past `maxDepth`, not JSON, or
 * failing the request schema (with the problems the validator would list).
 */
export type ProfileBodyResult =
  | { dcp: Dcp; flow_id?: string }
  | { source: string; flow_id?: string }
  | { refused: 'too_deep' | 'malformed' }
  | { refused: 'invalid'; problems: Problem[] };

/** Predicts one RPR per template node. */
export interface PredictorPort {
  predict(input: { tenant: string; flow: FlowRecord; dcp: Dcp | null }): Promise<Rpr[]>;
}

/** One warm pool as the API shows it. */
export interface PoolView {
  id: string;
  tenant: string;
  flow_id: string;
  template: string;
  created_at: string;
  resources: Rac[];
  /** What the pool holds, counted against the tenant's quotas. */
  held: { cores: number; memory_gb: number; warm_resources: number };
  /** Why the pool's last warm-up failed; null when it did not. */
  last_error?: string | null;
  /** Set when its request failed every attempt (across restarts) and is no longer tried. */
  given_up?: { attempts: number; reason: string };
}

/** Warm pools per tenant and template. */
export interface PoolsPort {
  preProvision(input: { tenant: string; flow: FlowRecord; rprs: Rpr[] }): Promise<PoolView>;
  list(tenant: string): Promise<PoolView[]>;
  /** Releases everything in the pool; false when the tenant has no such pool. */
  drain(tenant: string, poolId: string): Promise<boolean>;
}

/** Live state of one node during a run. */
export interface NodeProgress {
  node_id: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed';
  records_in: number;
  records_out: number;
}

/** What an execution request carries once the server resolved it. */
export interface ExecutionInput {
  execution_id: string;
  tenant: string;
  flow: FlowRecord;
  rprs: Rpr[] | null;
  dcp: Dcp | null;
  source: string | undefined;
  records: unknown[] | undefined;
  /** Fail the run when a node dead-letters more than this share (default: the flow's, else 0.5). */
  max_dead_letter_ratio?: number;
  /** On-demand resources only: the pool is not claimed from. */
  cold?: boolean;
  onProgress: (nodes: NodeProgress[]) => void;
  /** Live sources: when the run ends by itself (else it runs until `signal` aborts). */
  live?: LiveLimits;
  /** Aborted: live sources stop reading and the run drains (`DELETE /v1/executions/{id}`). */
  signal?: AbortSignal;
  /** A live run's figures, about once a second. */
  onLive?: (report: LiveReport) => void;
  /**
   * Continue this execution from its last checkpoint (the server stopped while it ran): its
   * inputs, RPRs and output folder are those it was registered with; `source`, `records`
   * and `rprs` are not used.
   */
  resume?: boolean;
}

/** Runs a flow and resolves with its CompletionStatus (a failed run resolves too). */
export interface ExecutorPort {
  execute(input: ExecutionInput): Promise<CompletionStatus>;
  /**
   * Checkpointed runs whose orchestrator is gone (a server that died under them): what a
   * restart can resume with `execute({…, resume: true})`. Absent: nothing is resumable.
   */
  interrupted?(): Promise<Array<{ execution_id: string; tenant: string }>>;
  /** Forgets an interrupted run's checkpoints (it will not be resumed). */
  forget?(executionId: string): Promise<void>;
}

/** Past runs of a tenant. */
export interface HistoryPort {
  runs(filter: { tenant: string; template?: string; limit?: number }): Promise<RunRecord[]>;
}
