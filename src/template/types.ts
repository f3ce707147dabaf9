/**
 * The flow file (what a user writes) and the Template (what warmflow infers from it).
 * Field names of {@link Template} are a public contract: `warmflow template --json`
 * prints exactly this shape.
 */

/** Kinds of data store a flow may name. */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'nats' | 'redis-stream';

/** A data store instance in the flow's catalogue. */
export interface StoreSpec {
  kind: StoreKind;
  /** sqlite: the database file (relative to the flow file). */
  path?: string;
  /** redis / postgres / nats / redis-stream: connection URL. */
  url?: string;
  /**
   * Set by a server from its store catalogue, never by a flow: the instance's name (errors name
   * it instead of the URL), and the tenant's namespace in it — a Redis key prefix, a Postgres schema.
   */
  instance?: string;
  prefix?: string;
  schema?: string;
  /** nats: subject a type is published to (`{type}` → the type's name; default `warmflow.{type}`). */
  subject?: string;
  /** redis-stream: stream key a type is appended to (`{type}` → the type's name; default `{type}`). */
  stream?: string;
  /** redis-stream: trim each stream to about this many entries (`MAXLEN ~`). */
  maxlen?: number;
  /** Set by a server for confined workers: the unix socket leading to the instance (no network inside). */
  socket?: string;
}

/** Where records arrive: a stream carrying records of one type. */
export interface StreamSpec {
  type: string;
  /** Optional default source (a file path relative to the flow file) used by `run` and `profile`. */
  source?: string;
}

/** Optional per-type placement: which store holds it, keyed by which field. */
export interface TypeSpec {
  store?: string;
  key?: string;
  /** Optional field -> type name map, e.g. `{ user_id: string, ts: integer }`. */
  fields?: Record<string, string>;
  /**
   * Optional JSONL file (relative to the flow file) whose records are loaded into the
   * type's store, keyed by `key`, before a run: how lookup tables such as user profiles
   * or a product catalogue get into a `memory` store.
   */
  seed?: string;
}

/** A function descriptor: only its name and data types; no order. */
export interface FunctionSpec {
  name: string;
  /** Module exporting a function of the same name; relative to the flow file. */
  module?: string;
  /** Name of the module's export, when it differs from `name` (default: `name`). */
  export?: string;
  /** Free text for people and `--help`-like listings. */
  description?: string;
  input: string[];
  output: string[];
  /** Field to partition by; a keyed function has per-key state. */
  key?: string;
  /**
   * State names of a keyed function, declared (as a Flink state descriptor is) so that each
   * key's slots are loaded before the function runs: the ones it may read synchronously with
   * `ctx.state.read(name)` / `ctx.state.write(name, value)`.
   */
  state?: string[];
  /** Whether the function can use a GPU. */
  gpu?: 'none' | 'optional' | 'required';
}

/** A flow file as parsed (YAML or `defineFlow`). */
export interface FlowSpec {
  name: string;
  /** Free text: what the flow does. */
  description?: string;
  streams?: Record<string, StreamSpec>;
  stores?: Record<string, StoreSpec>;
  types?: Record<string, TypeSpec>;
  functions: FunctionSpec[];
  /** Store for writes of types `types` does not place; default: JSONL files under the output folder. */
  sink?: string;
  /**
   * Share of a node's input (0-1) it may dead-letter before the run fails (default 0.5); a
   * node that dead-letters all of its input always fails the run.
   */
  max_dead_letter_ratio?: number;
}

export type NodeKind = 'function' | 'read' | 'write' | 'source';

/** One node of the inferred DAG. Ids: function name, `read:T`, `write:T`, `source:S`. */
export interface TemplateNode {
  id: string;
  kind: NodeKind;
  /** The data type a read/write/source node carries. */
  type?: string;
  /** Store instance name a read/write node uses (absent: the default JSONL sink). */
  data_store?: string;
  /** For function nodes: partition key, if keyed. */
  key?: string;
  /** For keyed function nodes: the declared state names (see {@link FunctionSpec.state}). */
  state?: string[];
}

/** A typed edge: `from` produces `type`, `to` consumes it. */
export interface TemplateEdge {
  from: string;
  to: string;
  type: string;
}

/**
 * The reads and writes around one invocation of `function`. In a checkpointed run the writes
 * of every invocation of one epoch commit to each store as one unit, with the epoch's
 * marker (docs/recovery.md); reads see the store as of the last committed epoch.
 */
export interface TemplateTransaction {
  function: string;
  reads: string[];
  writes: string[];
}

/** The inferred dataflow template. */
export interface Template {
  name: string;
  nodes: TemplateNode[];
  edges: TemplateEdge[];
  transactions: TemplateTransaction[];
}

/**
 * What a server granted the processes that run one tenant's flow version: a worker holding a
 * grant refuses a deployment of another tenant or version, a source or seed outside `read`, and
 * any store that is not exactly one of `stores` (a `memory` store excepted).
 */
export interface WorkerGrant {
  tenant: string;
  /** The flow version (template shape, function code, stores): see `flowVersion`. */
  version: string;
  /** Folders sources and seeds may be read from (the tenant's area, shared roots). */
  read: string[];
  /** The store instances the tenant was granted for this flow, resolved (sqlite paths absolute). */
  stores: Record<string, StoreSpec>;
}
