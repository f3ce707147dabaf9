import type { UserFunction } from '../../template/function-api.js';
import { KeyedStateStore } from '../../stores/keyed-state.js';
import { LocalKeyedState, type StateBackend } from './local-keyed-state.js';
import type { DataStore } from '../../stores/store.js';
import type { NodeStats } from './deploy-spec.js';
import { outputTypeOf, type GraphNode, type NodeGraph, type Route } from './node-graph.js';
import { NodeContext, fieldOf, keyString, partitionOf, type LookupTarget } from './node-context.js';
import { deadLetterFailure } from './failure-location.js';
import { WriteBuffer, type StagedWrite, type StoreRoute } from './write-buffer.js';
import { onCpuMs } from './on-cpu-clock.js';
import { isThenable, runChain, type ChainOutput, type ChainStage } from './node-chain.js';

/** Where an executor hands records that leave its thread. */
export interface ExecutorOutlets {
  /**
   * Records for keyed node `node` that belong to `partition` (another thread's, or any
   * partition while a source batch runs ordered). The arrays are handed over: the executor
   * never touches them again, so the runtime may keep them as they are.
   */
  exchange(partition: number, node: string, recs: unknown[], pos: number[]): void;
  /** A record for a write node without a store: goes back to the orchestrator's JSONL sink. */
  sink(node: string, type: string, record: unknown): void;
  /** A record a node could not process. */
  dead(node: string, record: unknown, error: unknown, position: number): void;
  /** Called after the first successful write to a store-backed write node. */
  stored(): void;
}

/** How often changed keyed state is written back to its store during a run. */
const STATE_FLUSH_MS = 250;

interface Pending {
  recs: unknown[];
  pos: number[];
}

/**
 * A batch of a chain in this many runs node by node instead, each node's CPU time measured on
 * its own: the chained batches' time is shared out by those measurements.
 */
const CHAIN_SAMPLE_EVERY = 16;

/** Function nodes run record by record, one into the next (see {@link chainsOf}). */
interface Chain {
  nodes: GraphNode[];
  stages: ChainStage[];
  /** Batches of the chain so far (which ones run node by node: {@link CHAIN_SAMPLE_EVERY}). */
  batches: number;
}

/** A node's CPU time and records when it ran node by node (to share out a chain's time). */
interface Measured {
  ms: number;
  records: number;
}

/** What one thread holds of a checkpoint epoch when it ends. */
export interface EpochStage {
  writes: StagedWrite[];
  /** Changed keyed state per node, `[item key, value]` (`undefined`: deleted). */
  state: Record<string, Array<[string, unknown]>>;
}

/**
 * Runs batches through the function nodes of one thread's partition. A batch runs
 * breadth-first in topological order — each node sees all of its input for the batch at
 * once, which is what lets a keyed node prefetch its keys' state in one `getMany` and
 * write it back in one `putMany` — and records stay objects between chained nodes.
 */
export class BatchExecutor {
  readonly stats: Record<string, NodeStats> = {};
  readonly #graph: NodeGraph;
  readonly #functions: ReadonlyMap<string, UserFunction>;
  readonly #contexts = new Map<string, NodeContext>();
  readonly #states = new Map<string, StateBackend>();
  readonly #outlets: ExecutorOutlets;
  readonly #partition: number;
  readonly #partitions: number;
  readonly #keys = new Map<string, Set<string>>();
  readonly #writes: WriteBuffer;
  readonly #checkpoints: boolean;
  /** Chains by their first node. */
  readonly #chains = new Map<string, Chain>();
  readonly #measured = new Map<string, Measured>();
  #ordered = false;
  #lastStateFlush = performance.now();

  constructor(options: {
    graph: NodeGraph;
    template: string;
    functions: ReadonlyMap<string, UserFunction>;
    stores: ReadonlyMap<string, DataStore>;
    /** Store per keyed node (its `data_store_instance`). */
    stateStores: ReadonlyMap<string, DataStore>;
    lookups: ReadonlyMap<string, LookupTarget>;
    outlets: ExecutorOutlets;
    partition: number;
    partitions: number;
    /**
     * Checkpointed run: keyed state is held in the thread (restored from the checkpoint,
     * its changes taken per epoch) and store writes are staged until their epoch commits.
     */
    checkpoints?: boolean;
    /** Whether chains of nodes run record by record (default true; see {@link chainsOf}). */
    chaining?: boolean;
  }) {
    this.#graph = options.graph;
    this.#functions = options.functions;
    this.#checkpoints = options.checkpoints === true;
    this.#writes = new WriteBuffer(options.stores, { staging: this.#checkpoints });
    this.#outlets = options.outlets;
    this.#partition = options.partition;
    this.#partitions = options.partitions;
    for (const node of options.graph.functions) {
      this.stats[node.id] = { records_in: 0, records_out: 0, dead_lettered: 0, busy_ms: 0 };
      let state: StateBackend | undefined;
      if (node.key !== undefined) {
        const store = options.stateStores.get(node.id);
        // With checkpoints the checkpoint is the state's truth and the store a copy written
        // with each epoch: the store may already hold a later epoch than the one restored.
        state = this.#checkpoints
          ? new LocalKeyedState({ trackChanges: true })
          : store === undefined || store.kind === 'memory'
            ? new LocalKeyedState()
            : new KeyedStateStore(store, options.template, node.id, { names: node.state });
        this.#states.set(node.id, state);
        this.#keys.set(node.id, new Set());
      }
      this.#contexts.set(
        node.id,
        new NodeContext(
          node.id,
          options.template,
          state,
          options.lookups,
          (type, found) => this.#countLookup(type, found),
          node.state,
        ),
      );
    }
    if (options.chaining !== false)
      for (const nodes of chainsOf(options.graph))
        this.#chains.set(nodes[0].id, {
          nodes,
          stages: nodes.map((node) => ({
            fn: this.#functions.get(node.id)!,
            ctx: this.#contexts.get(node.id)!,
            key: node.key,
          })),
          batches: 0,
        });
  }

  /**
   * Runs a batch source `source` produced (the arrays are taken over, not copied). With
   * `ordered`, records bound for a keyed node
   * are all handed to `outlets.exchange` — this thread's own partition included — so the
   * runtime can deliver them to every owner in chunk order (per-key input order holds).
   */
  async runSource(source: string, recs: unknown[], pos: number[], ordered: boolean): Promise<void> {
    const pending = new Map<string, Pending>();
    this.#ordered = ordered && this.#partitions > 1;
    try {
      this.#route(this.#graph.sourceRoutes.get(source) ?? [], recs, pos, pending, true);
      await this.#drive(pending);
    } finally {
      this.#ordered = false;
    }
  }

  /** Runs records that were routed to keyed nodes of this partition (by this or another thread). */
  async runAt(
    items: ReadonlyArray<{ node: string; recs: unknown[]; pos: number[] }>,
  ): Promise<void> {
    const pending = new Map<string, Pending>();
    for (const item of items) {
      const target = pending.get(item.node);
      if (target === undefined) pending.set(item.node, { recs: item.recs, pos: item.pos });
      else {
        target.recs.push(...item.recs);
        target.pos.push(...item.pos);
      }
    }
    await this.#drive(pending);
  }

  /** Loads a keyed node's state from a checkpoint (this partition's keys). */
  restore(node: string, items: ReadonlyArray<readonly [string, unknown]>): void {
    const state = this.#states.get(node);
    if (state instanceof LocalKeyedState) state.restore(items);
  }

  /**
   * Hands over the epoch's staged writes and state changes (checkpointed runs); without
   * `withState`, the writes only (the state changes are not copied out, and not kept).
   */
  stage(withState = true): EpochStage {
    const state: EpochStage['state'] = {};
    for (const [node, backend] of this.#states)
      if (backend instanceof LocalKeyedState) {
        if (withState) state[node] = backend.takeChanges();
        else backend.dropChanges();
      }
    return { writes: this.#writes.takeStaged(), state };
  }

  /** Every keyed node's state held in this thread, for another resource to restore. */
  handover(): Record<string, Array<[string, unknown]>> {
    const state: Record<string, Array<[string, unknown]>> = {};
    for (const [node, backend] of this.#states)
      if (backend instanceof LocalKeyedState) state[node] = backend.entries();
    return state;
  }

  /** Distinct keys this partition saw per keyed node. */
  keyCounts(): Record<string, number> {
    return Object.fromEntries(
      [...this.#keys].map(([id, keys]) => {
        const state = this.#states.get(id);
        return [id, state instanceof LocalKeyedState ? state.size : keys.size];
      }),
    );
  }

  async #drive(pending: Map<string, Pending>): Promise<void> {
    for (const node of this.#graph.functions) {
      const input = pending.get(node.id);
      if (input === undefined || input.recs.length === 0) continue;
      pending.delete(node.id);
      const chain = this.#chains.get(node.id);
      if (chain !== undefined && chain.batches++ % CHAIN_SAMPLE_EVERY !== 0)
        await this.#runChain(chain, input, pending);
      else await this.#runNode(node, input, pending);
    }
    await this.#flushWrites();
    // State is written back every STATE_FLUSH_MS, not per batch: the cache already makes
    // reads local, and per-batch putMany (JSON per value) cost as much as the function.
    if (performance.now() - this.#lastStateFlush > STATE_FLUSH_MS) await this.flushState();
  }

  /** Writes every keyed node's changed state to its store (also called at the end of a run). */
  async flushState(): Promise<void> {
    this.#lastStateFlush = performance.now();
    for (const [node, state] of this.#states) {
      const started = onCpuMs();
      await state.flush();
      this.stats[node].busy_ms += onCpuMs() - started;
    }
  }

  /**
   * A keyed node's keys of a batch, before it runs: counted (local state knows its own size)
   * and their state prefetched from its store.
   */
  async #prepareKeys(node: GraphNode, recs: readonly unknown[]): Promise<void> {
    const field = node.key;
    const state = this.#states.get(node.id);
    if (field === undefined || state instanceof LocalKeyedState) return;
    const keys = new Set<string>();
    for (let i = 0; i < recs.length; i++) keys.add(keyString(fieldOf(recs[i], field)));
    const seen = this.#keys.get(node.id)!;
    for (const k of keys) seen.add(k);
    if (state !== undefined) await state.prefetch(keys);
  }

  async #runNode(node: GraphNode, input: Pending, pending: Map<string, Pending>): Promise<void> {
    const started = onCpuMs();
    const fn = this.#functions.get(node.id)!;
    const ctx = this.#contexts.get(node.id)!;
    const stats = this.stats[node.id];
    const { recs, pos } = input;
    const n = recs.length;
    stats.records_in += n;
    const field = node.key;
    await this.#prepareKeys(node, recs);
    // The hot loop (`callFrom`): no closure or allocation per record beyond what the
    // function returns; records whose function returned a promise are awaited by `awaitFrom`.
    const out: NodeOutput = {
      recs: [],
      pos: [],
      pending: undefined,
      dead: (record, error, position) => this.#dead(node.id, record, error, position),
    };
    const at = callFrom(fn, ctx, recs, pos, field, 0, out);
    if (at < n) await awaitFrom(fn, ctx, recs, pos, field, at, out);
    const { recs: outRecs, pos: outPos } = out;
    const ms = onCpuMs() - started;
    stats.busy_ms += ms;
    const measured = this.#measured.get(node.id);
    if (measured === undefined) this.#measured.set(node.id, { ms, records: n });
    else {
      measured.ms += ms;
      measured.records += n;
    }
    this.#emit(node, outRecs, outPos, pending);
  }

  /**
   * Runs a batch through a chain record by record. Its CPU time is measured for the whole
   * chain and shared out between its nodes by what each cost a record when the chain last ran
   * node by node (one batch in {@link CHAIN_SAMPLE_EVERY}, the first included), times the
   * records each took in this batch.
   */
  async #runChain(chain: Chain, input: Pending, pending: Map<string, Pending>): Promise<void> {
    const started = onCpuMs();
    const { nodes } = chain;
    await this.#prepareKeys(nodes[0], input.recs);
    const out: ChainOutput = {
      recs: [],
      pos: [],
      ins: nodes.map(() => 0),
      outs: nodes.map(() => 0),
      dead: (stage, record, error, position) =>
        this.#dead(nodes[stage].id, record, error, position),
    };
    const waiting = runChain(chain.stages, input.recs, input.pos, out);
    if (waiting !== undefined) await waiting;
    const ms = onCpuMs() - started;
    const weights = nodes.map((node, k) => {
      const measured = this.#measured.get(node.id);
      return measured === undefined || measured.records === 0
        ? out.ins[k]
        : (out.ins[k] * measured.ms) / measured.records;
    });
    const total = weights.reduce((a, b) => a + b, 0);
    for (let k = 0; k < nodes.length; k++) {
      const stats = this.stats[nodes[k].id];
      stats.records_in += out.ins[k];
      // The last node's records are counted out as they are routed (by type), as unchained.
      if (k < nodes.length - 1) stats.records_out += out.outs[k];
      stats.busy_ms += total > 0 ? (ms * weights[k]) / total : ms / nodes.length;
    }
    this.#emit(nodes[nodes.length - 1], out.recs, out.pos, pending);
  }

  /** Counts out and routes what `node` gave, by output type. */
  #emit(
    node: GraphNode,
    outRecs: unknown[],
    outPos: number[],
    pending: Map<string, Pending>,
  ): void {
    const stats = this.stats[node.id];
    if (node.outputs.length === 1) {
      stats.records_out += outRecs.length;
      this.#route(node.routes.get(node.outputs[0]) ?? [], outRecs, outPos, pending, true);
      return;
    }
    const typed = new Map<string, Pending>();
    for (let i = 0; i < outRecs.length; i++) {
      const record = outRecs[i];
      const type = outputTypeOf(node, record);
      if (type === undefined) {
        this.#dead(
          node.id,
          record,
          new Error(
            `cannot tell which of ${node.outputs.join(', ')} this record is; tag it with $type`,
          ),
          outPos[i],
        );
        continue;
      }
      let bucket = typed.get(type);
      if (bucket === undefined) typed.set(type, (bucket = { recs: [], pos: [] }));
      bucket.recs.push(record);
      bucket.pos.push(outPos[i]);
    }
    for (const [type, bucket] of typed) {
      stats.records_out += bucket.recs.length;
      this.#route(node.routes.get(type) ?? [], bucket.recs, bucket.pos, pending, true);
    }
  }

  /**
   * Hands `recs` to every route. With `owned` the arrays belong to the caller and nobody
   * else: the first unkeyed function route with nothing pending yet takes them as they
   * are (chained nodes pass batches without copying); further routes get copies.
   */
  #route(
    routes: readonly Route[],
    recs: unknown[],
    pos: number[],
    pending: Map<string, Pending>,
    owned: boolean,
  ): void {
    let give = owned;
    for (const route of routes) {
      if (route.kind === 'function') {
        if (route.key !== undefined) {
          this.#routeKeyed(route.node, route.key, recs, pos, pending);
          continue;
        }
        const target = pending.get(route.node);
        if (target === undefined && give) {
          pending.set(route.node, { recs, pos });
          give = false;
          continue;
        }
        if (target === undefined) {
          pending.set(route.node, { recs: recs.slice(), pos: pos.slice() });
          continue;
        }
        for (let i = 0; i < recs.length; i++) {
          target.recs.push(recs[i]);
          target.pos.push(pos[i]);
        }
      } else if (route.kind === 'sink') {
        for (const r of recs) this.#outlets.sink(route.node, route.type, r);
      } else if (route.key === undefined) {
        this.#writes.add(route, recs, pos);
      } else {
        this.#writeKeyed(route, route.key, recs, pos);
      }
    }
  }

  /**
   * Records for a keyed type's store: one without its key is a dead letter of the write
   * node (stored under "undefined" or "null" it would overwrite every other keyless record).
   */
  #writeKeyed(route: StoreRoute, key: string, recs: unknown[], pos: number[]): void {
    let bad = -1;
    for (let i = 0; i < recs.length && bad < 0; i++) {
      const value = fieldOf(recs[i], key);
      if (value === undefined || value === null) bad = i;
    }
    if (bad < 0) {
      this.#writes.add(route, recs, pos);
      return;
    }
    const keptRecs: unknown[] = recs.slice(0, bad);
    const keptPos: number[] = pos.slice(0, bad);
    for (let i = bad; i < recs.length; i++) {
      const value = fieldOf(recs[i], key);
      if (value === undefined || value === null) {
        this.#dead(
          route.node,
          recs[i],
          new Error(`record has no key field "${key}" (the key of type ${route.type})`),
          pos[i],
        );
        // Stored records are counted in when they are written; this one came in too.
        this.stats[route.node].records_in++;
      } else {
        keptRecs.push(recs[i]);
        keptPos.push(pos[i]);
      }
    }
    if (keptRecs.length > 0) this.#writes.add(route, keptRecs, keptPos);
  }

  /** Splits records for keyed node `node` by partition: this one's stay, the others' go to the outlet in one array each. */
  #routeKeyed(
    node: string,
    key: string,
    recs: unknown[],
    pos: number[],
    pending: Map<string, Pending>,
  ): void {
    const partitions = this.#partitions;
    const local = !this.#ordered;
    let target = pending.get(node);
    const parts: Array<Pending | undefined> = [];
    for (let i = 0; i < recs.length; i++) {
      const value = fieldOf(recs[i], key);
      if (value === undefined || value === null) {
        this.#dead(node, recs[i], new Error(`record has no key field "${key}"`), pos[i]);
        continue;
      }
      const p = partitions === 1 ? 0 : partitionOf(keyString(value), partitions);
      if (p === this.#partition && local) {
        if (target === undefined) pending.set(node, (target = { recs: [], pos: [] }));
        target.recs.push(recs[i]);
        target.pos.push(pos[i]);
        continue;
      }
      let part = parts[p];
      if (part === undefined) parts[p] = part = { recs: [], pos: [] };
      part.recs.push(recs[i]);
      part.pos.push(pos[i]);
    }
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p];
      if (part !== undefined) this.#outlets.exchange(p, node, part.recs, part.pos);
    }
  }

  async #flushWrites(): Promise<void> {
    const first = await this.#writes.flush(
      (node) =>
        (this.stats[node] ??= { records_in: 0, records_out: 0, dead_lettered: 0, busy_ms: 0 }),
    );
    if (first) this.#outlets.stored();
  }

  /** A lookup of `type` by a function: the read node `read:<type>` counts it (in), and a hit (out). */
  #countLookup(type: string, found: boolean): void {
    const stats = (this.stats[`read:${type}`] ??= {
      records_in: 0,
      records_out: 0,
      dead_lettered: 0,
      busy_ms: 0,
    });
    stats.records_in++;
    if (found) stats.records_out++;
  }

  #dead(node: string, record: unknown, error: unknown, position: number): void {
    const stats = (this.stats[node] ??= {
      records_in: 0,
      records_out: 0,
      dead_lettered: 0,
      busy_ms: 0,
    });
    if (stats.dead_lettered++ === 0) {
      const failure = deadLetterFailure(error);
      stats.first_error = {
        type: failure.type,
        message: failure.message,
        ...(failure.stack !== undefined ? { stack: failure.stack } : {}),
        ...(failure.location !== undefined ? { location: failure.location } : {}),
      };
    }
    this.#outlets.dead(node, record, error, position);
  }
}

/** What a node's records gave, collected by {@link callFrom} and {@link awaitFrom}. */
interface NodeOutput {
  recs: unknown[];
  pos: number[];
  /** What the record {@link callFrom} stopped at returned: a promise (or thenable). */
  pending: PromiseLike<unknown> | undefined;
  dead(record: unknown, error: unknown, position: number): void;
}

/** Adds what a function returned for the record at `position` to `out`. */
function collect(out: NodeOutput, result: unknown, position: number): void {
  if (result === undefined || result === null) return;
  if (Array.isArray(result)) {
    for (const r of result as unknown[]) {
      out.recs.push(r);
      out.pos.push(position);
    }
  } else {
    out.recs.push(result);
    out.pos.push(position);
  }
}

/**
 * Calls `fn` on the records from `from` on while it returns at once; stops at the first
 * that returns a promise (or thenable), left in `out.pending`, and returns its index
 * (`recs.length` when none did). Synchronous, so a function that never returns a promise
 * costs no await at all.
 */
function callFrom(
  fn: UserFunction,
  ctx: NodeContext,
  recs: readonly unknown[],
  pos: readonly number[],
  field: string | undefined,
  from: number,
  out: NodeOutput,
): number {
  const n = recs.length;
  for (let i = from; i < n; i++) {
    const record = recs[i];
    if (ctx.tracksRecord) ctx.record = record;
    if (field !== undefined) ctx.key = keyString(fieldOf(record, field));
    let result: unknown;
    try {
      result = fn(record, ctx);
    } catch (error) {
      out.dead(record, error, pos[i]);
      continue;
    }
    if (isThenable(result)) {
      out.pending = result;
      return i;
    }
    collect(out, result, pos[i]);
  }
  return n;
}

/**
 * Awaits the promise of record `at` (see {@link callFrom}), then goes on with the next
 * records, one at a time: a record's function runs only once the one before it finished
 * (`ctx` is the current record's, and a key's state changes in input order). Kept apart
 * from the executor's own frame, which every await would suspend and resume.
 */
async function awaitFrom(
  fn: UserFunction,
  ctx: NodeContext,
  recs: readonly unknown[],
  pos: readonly number[],
  field: string | undefined,
  at: number,
  out: NodeOutput,
): Promise<void> {
  const n = recs.length;
  for (let i = at; i < n; i = callFrom(fn, ctx, recs, pos, field, i + 1, out)) {
    try {
      collect(out, await out.pending, pos[i]);
    } catch (error) {
      out.dead(recs[i], error, pos[i]);
    }
  }
  out.pending = undefined;
}

/**
 * The chains of `graph`: runs of function nodes where each one's records all go to the next
 * and to nothing else — it has one output type, whose one route is an unkeyed function node
 * that takes records from no other node or source. Such a pair runs record by record
 * ({@link runChain}) without changing what either sees: the second node's input is exactly
 * the first one's output, in the same order; only the first node of a chain may be keyed
 * (the next ones would need their records partitioned first).
 */
export function chainsOf(graph: NodeGraph): GraphNode[][] {
  const feeds = new Map<string, number>();
  const fed = (route: Route) => {
    if (route.kind === 'function') feeds.set(route.node, (feeds.get(route.node) ?? 0) + 1);
  };
  for (const routes of graph.sourceRoutes.values()) routes.forEach(fed);
  for (const node of graph.functions)
    for (const routes of node.routes.values()) routes.forEach(fed);
  const next = (node: GraphNode): GraphNode | undefined => {
    if (node.outputs.length !== 1) return undefined;
    const routes = node.routes.get(node.outputs[0]) ?? [];
    if (routes.length !== 1) return undefined;
    const route = routes[0];
    if (route.kind !== 'function' || route.key !== undefined) return undefined;
    const target = graph.byId.get(route.node);
    if (target === undefined || feeds.get(target.id) !== 1) return undefined;
    return target;
  };
  const inChain = new Set<string>();
  const chains: GraphNode[][] = [];
  for (const node of graph.functions) {
    if (inChain.has(node.id)) continue;
    const chain = [node];
    for (let to = next(node); to !== undefined && !inChain.has(to.id); to = next(to)) {
      chain.push(to);
      inChain.add(to.id);
    }
    if (chain.length > 1) {
      inChain.add(node.id);
      chains.push(chain);
    }
  }
  return chains;
}
