import { createHash } from 'node:crypto';
import path from 'node:path';
import type { StoreSpec, Template, TypeSpec } from '../../template/types.js';

/** Where a run's records come from, as the data plane sees it. */
export type SourceSpec =
  | {
      /** Threads read and parse interleaved chunks of a local JSONL file themselves (no bytes cross threads). */
      mode: 'file';
      node_id: string;
      type: string;
      path: string;
      /**
       * Bytes per chunk; default `chunkBytesFor(file size, threads)`. Engine calibration sets
       * what the real input would get, so a small sample is read in chunks (and so holds
       * read-ahead memory) like the run it stands for.
       */
      chunk_bytes?: number;
    }
  | {
      /** The orchestrator pushes batches (`df.batch`); used for stdin, CSV, gzip and `--rate` replay. */
      mode: 'push';
      node_id: string;
      type: string;
    };

/** A memory-store lookup table to load before the run (`types.T.seed`), in every thread. */
export interface SeedSpec {
  type: string;
  store: string;
  key: string;
  /** Absolute JSONL path. */
  file: string;
}

/**
 * What `df.run` deploys onto a resource: the nodes it runs, where its records come from,
 * which stores they use. Everything is plain JSON so it crosses the wire and threads as is.
 */
export interface DeploySpec {
  execution_id: string;
  /**
   * Names the spec's {@link DeployTemplate} part (a hash of it, {@link deployTemplateId}): a
   * worker keeps the part it got with an id, and a later `df.run` naming the id may leave
   * the part out (the worker answers `E_UNKNOWN_VERSION` when it no longer holds it).
   */
  template_id?: string;
  /** Tenant the run is for; a worker holding a grant refuses any other. */
  tenant?: string;
  /** Flow version (`flowVersion`) the run is for; a worker holding a grant refuses any other. */
  version?: string;
  template: Template;
  /** Template nodes this resource runs (functions, and the source/read/write nodes around them). */
  node_ids: string[];
  /** Store catalogue with sqlite paths already absolute. */
  stores: Record<string, StoreSpec>;
  /** Key field of each type placed in a store (`types.T.key`). */
  type_keys: Record<string, string>;
  /** Store of each type placed in one (`types.T.store`): where `ctx.input(T)` looks. */
  type_stores: Record<string, string>;
  /** Store holding each keyed node's state (its RPR's `data_store_instance`); absent: a memory store per run. */
  state_stores: Record<string, string>;
  seeds: SeedSpec[];
  sources: SourceSpec[];
  /** Records per batch (default 1000). */
  batch_size?: number;
  /** Checkpoints and exactly-once store writes (file sources only; see docs/recovery.md). */
  checkpoint?: CheckpointSpec;
  /**
   * The run may end by handing its keyed state over to another resource (a live run that is
   * resized): the answer to `df.run` carries every keyed node's state held in the threads
   * (`{node: [[item key, value]…]}`, as a checkpoint's), which the next resource restores.
   */
  handover?: boolean;
}

/** The fields of a {@link DeployTemplate}. */
export const DEPLOY_TEMPLATE_FIELDS = [
  'template',
  'node_ids',
  'type_keys',
  'type_stores',
  'seeds',
] as const satisfies ReadonlyArray<keyof DeploySpec>;

/**
 * The part of a {@link DeploySpec} that is the same for every run of one flow version on one
 * resource: sent to a worker and its threads once, not with every run.
 */
export type DeployTemplate = Pick<DeploySpec, (typeof DEPLOY_TEMPLATE_FIELDS)[number]>;

/** The rest of a {@link DeploySpec}: what each run brings (execution, sources, stores). */
export type RunSpec = Omit<DeploySpec, keyof DeployTemplate>;

/** Splits a spec into its template part and its run part (no copies of the fields' values). */
export function splitDeploySpec(spec: DeploySpec): { template: DeployTemplate; run: RunSpec } {
  const run: Partial<DeploySpec> = { ...spec };
  for (const field of DEPLOY_TEMPLATE_FIELDS) delete run[field];
  const { template, node_ids, type_keys, type_stores, seeds } = spec;
  return { template: { template, node_ids, type_keys, type_stores, seeds }, run: run as RunSpec };
}

/** The id of a template part: a hash of its content, so equal ids mean equal templates. */
export function deployTemplateId(template: DeployTemplate): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 32);
}

/** How a resource checkpoints its run. */
export interface CheckpointSpec {
  /** Names the writer of the epoch markers in every store: `<execution>/<group>`. */
  writer: string;
  /** Wall milliseconds an epoch aims at (the resource sizes epochs in chunks to match). */
  interval_ms: number;
  /** Continue after this checkpoint instead of from the start. */
  resume?: CheckpointPosition;
  /**
   * A replay from the start of a run that may have committed its first epoch already (no
   * checkpoint was recorded): the first epoch is the fixed one, not one sized from a rate.
   */
  replay?: boolean;
}

/** Where a checkpoint leaves a run: the last epoch done and where the next one reads. */
export interface CheckpointPosition {
  /** The last epoch committed (-1: none yet). */
  epoch: number;
  /** Per source (by index): the first chunk of the next epoch. */
  positions: number[];
  /** Per source: the end of the next epoch, fixed before any of its writes (a replay reads the same chunks). */
  next: number[];
  /** Figures per node up to the checkpoint, which the resource adds its own to. */
  nodes: Record<string, NodeStats>;
}

/** Per-node figures one thread (or the whole resource, summed) reports at the end of a run. */
export interface NodeStats {
  records_in: number;
  records_out: number;
  dead_lettered: number;
  /**
   * Milliseconds the thread ran inside this node: wall time less the time it waited for a
   * CPU (`onCpuMs`), so a loaded machine's preemptions do not land on whichever node was
   * running. The weight by which the resource's CPU is attributed to its nodes.
   */
  busy_ms: number;
  /** Keyed nodes: distinct keys this thread's partition saw. */
  keys?: number;
  /** The first record failure of this node (type, message, stack, the user's `file:line:column`). */
  first_error?: NodeFirstError;
  /** A live source: its first malformed messages (at most {@link MALFORMED_KEPT}), by stream sequence or entry id. */
  malformed?: Array<{ sequence?: number; id?: string; error: string }>;
}

/** Malformed messages of a live source a run keeps (the count has them all). */
export const MALFORMED_KEPT = 10;

/** The first failure a node dead-lettered, for the run's summary. */
export interface NodeFirstError {
  type: string;
  message: string;
  stack?: string;
  location?: string;
}

/** What the resource answers to `df.run` when the run is over. */
export interface RunResult {
  nodes: Record<string, NodeStats>;
  /** user + system CPU seconds of the whole resource (all threads) during the run. */
  cpu_seconds: number;
  peak_rss_bytes: number;
  /** Milliseconds from `df.run` received to its end, on the resource. */
  elapsed_ms: number;
  threads: number;
  /** Epoch ms at which the first record reached a store-backed write node, if any. */
  first_store_write_at: number | null;
}

/** Adds `b` into `a` per node. */
export function mergeNodeStats(a: Record<string, NodeStats>, b: Record<string, NodeStats>): void {
  for (const [id, s] of Object.entries(b)) {
    const t = (a[id] ??= { records_in: 0, records_out: 0, dead_lettered: 0, busy_ms: 0 });
    t.records_in += s.records_in;
    t.records_out += s.records_out;
    t.dead_lettered += s.dead_lettered;
    t.busy_ms += s.busy_ms;
    if (s.keys !== undefined) t.keys = (t.keys ?? 0) + s.keys;
    if (t.first_error === undefined && s.first_error !== undefined) t.first_error = s.first_error;
    if (s.malformed !== undefined)
      t.malformed = [...(t.malformed ?? []), ...s.malformed].slice(0, MALFORMED_KEPT);
  }
}

/** What {@link deployTemplate} reads of a flow (a `LoadedFlow` has it all). */
export interface TemplateFlow {
  template: Template;
  spec?: { types?: Record<string, TypeSpec> };
  /** Where relative seed files are (a loaded flow's folder). */
  dir?: string;
}

/** Template parts built per loaded flow (a `LoadedFlow` is not changed once loaded), by node ids. */
const templates = new WeakMap<
  TemplateFlow,
  Map<string, { template: DeployTemplate; id: string }>
>();

/**
 * The part of the deploy specs of `flow` on the resource serving `nodeIds` that every run
 * shares, and its id: built and hashed once per loaded flow and group, not per request.
 */
export function deployTemplate(
  flow: TemplateFlow,
  nodeIds: readonly string[],
): { template: DeployTemplate; id: string } {
  let byGroup = templates.get(flow);
  if (byGroup === undefined) templates.set(flow, (byGroup = new Map()));
  const key = nodeIds.join('\u0000');
  let built = byGroup.get(key);
  if (built === undefined) {
    const typeKeys: Record<string, string> = {};
    const typeStores: Record<string, string> = {};
    const seeds: SeedSpec[] = [];
    for (const [type, spec] of Object.entries(flow.spec?.types ?? {})) {
      if (spec.key !== undefined) typeKeys[type] = spec.key;
      if (spec.store !== undefined) typeStores[type] = spec.store;
      if (spec.seed !== undefined && spec.store !== undefined && spec.key !== undefined) {
        seeds.push({
          type,
          store: spec.store,
          key: spec.key,
          file: path.resolve(flow.dir ?? '.', spec.seed),
        });
      }
    }
    const template: DeployTemplate = {
      template: flow.template,
      node_ids: [...nodeIds],
      type_keys: typeKeys,
      type_stores: typeStores,
      seeds,
    };
    built = { template, id: deployTemplateId(template) };
    byGroup.set(key, built);
  }
  return built;
}
