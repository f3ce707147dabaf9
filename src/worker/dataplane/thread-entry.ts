import { parentPort, type MessagePort } from 'node:worker_threads';
import { WarmflowError } from '../../errors.js';
import type { UserFunction } from '../../template/function-api.js';
import { loadFunction } from '../load-function.js';
import type { WorkerGrant } from '../../template/types.js';
import { checkDeploySpec } from '../deploy-guard.js';
import type { NoticeMessage, RequestMessage } from '../protocol.js';
import type { DeploySpec, DeployTemplate, RunSpec } from './deploy-spec.js';
import {
  chunkCounters,
  claimRunCounters,
  fitsRunCounters,
  runCountersSerial,
  runTag,
} from './run-counters.js';
import { compileGraph, type NodeGraph } from './node-graph.js';
import { OutputChannels } from './output-channels.js';
import { PartitionRuntime } from './partition-runtime.js';
import { RunStores } from './run-stores.js';
import type { FromThread, PeerMessage, ToThread } from './thread-messages.js';
import { WARM_UP_FUNCTIONS } from './warm-up-functions.js';

/**
 * Entry of a data-plane thread. At warm time it imports every function module and opens
 * the persistent stores, so a run only has to compile its routing and go.
 */
const port = parentPort!;
const post = (message: FromThread): void => port.postMessage(message);
const functions = new Map<string, UserFunction>();
const stores = new RunStores();
let peers: Array<MessagePort | null> = [];
let index = 0;
let runtime: PartitionRuntime | null = null;
/** The output channel the current run sends over (`df.run`'s `out`), if any. */
let runtimeOut: string | undefined;
/** This thread's own socket for output, once the worker has asked it to listen. */
let channels: OutputChannels | null = null;
/** Where the current deploy is (for the log line of a deploy that hangs). */
const deployStep = { at: 'starting' };
/**
 * Deploy templates by id, as the main thread sent them (it says which to drop), with the
 * graphs compiled from each (by source nodes): a run of a held template compiles nothing.
 */
const templates = new Map<string, { template: DeployTemplate; graphs: Map<string, NodeGraph> }>();
/** What the worker may run, for runs taken from the channel (absent: the worker checks none). */
let grant: { grant: WorkerGrant; nodeIds: string[] } | undefined;
/** The counters of this thread's next run (`run-counters.ts`), which a run taken from the channel uses. */
let armed: SharedArrayBuffer | null = null;
/**
 * A run this thread took from its channel that the main thread has not deployed yet: what its
 * runtime posts to the main thread waits (the main thread's run is not listening yet), and
 * once it deploys the same run with the same counters the thread goes on with it.
 */
let taken: {
  run: string;
  serial: bigint;
  deployed: boolean;
  queue: FromThread[];
  confirmed: boolean;
} | null = null;
/** Executions this thread has run lately (a late copy of one is not taken again). */
const recent = new Set<string>();
/** Runs taken from the channel and dropped unconfirmed: not run again here (their first records may have gone out). */
const dropped = new Set<string>();
/** Executions remembered in {@link recent} and {@link dropped}. */
const REMEMBERED = 64;

function remember(set: Set<string>, run: string): void {
  set.add(run);
  if (set.size > REMEMBERED) set.delete(set.values().next().value!);
}

/** Drops the taken run if it is still unconfirmed (`run`: only that one). */
function dropTaken(run?: string): void {
  if (taken === null || taken.confirmed || (run !== undefined && taken.run !== run)) return;
  if (runtime?.run === taken.run) runtime.handle({ k: 'cancel' });
  remember(dropped, taken.run);
  taken = null;
}

/** Peer messages of a run this thread has not deployed yet (or of one it has left). */
const early: Array<[number, PeerMessage]> = [];

/** Hands a peer's message to the run it belongs to, holding it if that run is not here yet. */
function onPeer(from: number, message: PeerMessage): void {
  if (runtime !== null && message.r === runtime.run) runtime.peerMessage(from, message);
  else early.push([from, message]);
}

port.on('message', (message: ToThread & { peers?: Array<MessagePort | null> }) => {
  void onMessage(message).catch((error: unknown) => post(failure(error)));
});

/** When the thread stops keeping itself awake for a run on its way (`performance.now()` ms). */
let awakeUntil = 0;

/**
 * A run is on its way (`df.wake`, sent when the request arrives, before the orchestrator has
 * prepared the run): the thread keeps its event loop turning (`setImmediate`, each turn a
 * poll of its sockets that does not block) until the run arrives or `ms` pass, instead of
 * sleeping. On a VM a thread that sleeps lets its vCPU halt, and the `df.run` that wakes it
 * waited 0.2-0.9 ms for the vCPU to run again; awake, it reads the frame as it arrives. The
 * time is bounded (`MAX_WAKE_MS`, checked on the wire) and spent only by an idle thread,
 * whose run is coming.
 */
function onWake(ms: number): void {
  if (runtime?.active === true || taken !== null) return;
  const until = performance.now() + ms;
  if (until <= awakeUntil) return;
  const spinning = awakeUntil > performance.now();
  awakeUntil = until;
  if (!spinning) setImmediate(stayAwake);
}

function stayAwake(): void {
  if (runtime?.active === true || taken !== null || performance.now() >= awakeUntil) {
    awakeUntil = 0;
    return;
  }
  setImmediate(stayAwake);
}

/** An acknowledgement on output channel `name`: the current run's, if it is for it. */
function onChannelAck(name: string, ack: NoticeMessage<'df.out-ack'>): void {
  if (runtime !== null && runtimeOut === name && ack.execution_id === runtime.run)
    runtime.handle({ k: 'out-ack' });
}

/** Output channel `name` closed: a run sending over it cannot go on. */
function onChannelClose(name: string): void {
  if (runtime === null || runtimeOut !== name || !runtime.active) return;
  // A run taken from the channel and not deployed by the main thread yet is dropped quietly:
  // the main thread has not started it (the orchestrator's connection closes as well).
  if (taken !== null && !taken.confirmed && taken.run === runtime.run) return dropTaken();
  runtime.handle({ k: 'cancel' });
  post({
    k: 'failed',
    error: { code: 'E_CONNECTION_CLOSED', message: `output channel of thread ${index} closed` },
  });
}

/**
 * What a run's runtime posts: its output over output channel `out` when it has one (straight
 * to the orchestrator), everything else to the main thread. A channel that has closed fails
 * the run (the orchestrator sees its connection go as well).
 */
function runPost(
  out: string | undefined,
  run: string,
  toMain: (message: FromThread) => void = post,
): (message: FromThread) => void {
  if (out === undefined) return toMain;
  const channel = channels?.get(out);
  if (channel === undefined)
    throw new WarmflowError('E_PROTOCOL', `thread ${index} has no output channel "${out}"`);
  let failed = false;
  return (message) => {
    if (message.k !== 'out') return toMain(message);
    if (failed) return;
    try {
      channel.send(
        {
          type: 'df.out',
          node: message.node,
          data_type: message.type,
          count: message.count,
          thread: index,
          execution_id: run,
        },
        Buffer.from(message.lines, 'utf8'),
      );
    } catch (error) {
      failed = true;
      // A run that has already ended here (cancelled) is not failed again: its failure would
      // reach the next run.
      if (runtime?.run !== run || !runtime.active) return;
      toMain({
        k: 'failed',
        error: {
          code: 'E_CONNECTION_CLOSED',
          message: `output channel of thread ${index} closed: ${(error as Error).message}`,
        },
      });
    }
  };
}

/**
 * A run the orchestrator sent this thread over its channel, beside the worker's `df.run`: the
 * thread starts it at once when it can tell that the worker's main thread will deploy the
 * same run the same way — a checkpointed run of file sources, not resumed, of a template the
 * thread holds, within the worker's grant, while nothing runs here and with the counters the
 * thread holds for the next run, claimed for it. Its first epoch is the first chunk of each
 * source until the main thread's deploy brings the real one; nothing of it commits, and
 * nothing but its output leaves the thread, before then. Anything else is left to the main
 * thread (the copy is dropped without an answer).
 */
async function takeRun(name: string, request: RequestMessage<'df.run'>): Promise<void> {
  const run = request.spec;
  const id = run.execution_id;
  if (runtime?.active === true || taken !== null || armed === null) return;
  if (recent.has(id) || dropped.has(id) || request.out !== name) return;
  if (run.checkpoint === undefined || run.checkpoint.resume !== undefined) return;
  if (run.handover === true || run.sources.some((source) => source.mode !== 'file')) return;
  const kept = run.template_id === undefined ? undefined : templates.get(run.template_id);
  if (kept === undefined || !fitsRunCounters(armed, run.sources.length)) return;
  const spec: DeploySpec = { ...(run as RunSpec), ...kept.template };
  try {
    if (grant !== undefined) checkDeploySpec(spec, grant.grant, grant.nodeIds);
  } catch {
    return;
  }
  const functionNodes = new Set(
    spec.template.nodes.filter((n) => n.kind === 'function').map((n) => n.id),
  );
  if (spec.node_ids.some((node) => functionNodes.has(node) && !functions.has(node))) return;
  const counters = armed;
  if (!claimRunCounters(counters, runTag(id))) return;
  armed = null;
  remember(recent, id);
  const state = {
    run: id,
    serial: runCountersSerial(counters),
    deployed: false,
    queue: [] as FromThread[],
    confirmed: false,
  };
  taken = state;
  const toMain = (message: FromThread): void => {
    if (state.confirmed) post(message);
    else state.queue.push(message);
  };
  runtimeOut = name;
  const deploying = new PartitionRuntime({
    index,
    peers: peers.length > 0 ? peers : [null],
    functions,
    stores,
    post: runPost(name, id, toMain),
    run: id,
  });
  runtime = deploying;
  const held = early.splice(0);
  for (const [from, m] of held) if (m.r === id) deploying.peerMessage(from, m);
  try {
    await deploying.deploy(spec, chunkCounters(counters), {
      step: deployStep,
      graphs: kept.graphs,
      provisional: true,
    });
  } catch (error) {
    if (deploying.active) toMain(failure(error));
    return;
  }
  state.deployed = true;
  if (state.confirmed && deploying.active) post({ k: 'deployed' });
}

/** The main thread deployed the run this thread took: it goes on, with the run's first epoch. */
function confirmTaken(limits: number[] | undefined): void {
  const state = taken!;
  state.confirmed = true;
  taken = null;
  if (limits !== undefined) runtime!.handle({ k: 'epoch', limits });
  if (state.deployed && runtime!.active) post({ k: 'deployed' });
  for (const message of state.queue.splice(0)) post(message);
}

/** A failure as the main thread receives it. */
function failure(error: unknown): FromThread {
  return {
    k: 'failed',
    error: {
      code: error instanceof WarmflowError ? error.code : 'E_DATAPLANE',
      message: error instanceof Error ? error.message : String(error),
    },
  };
}

async function onMessage(message: ToThread & { peers?: Array<MessagePort | null> }): Promise<void> {
  switch (message.k) {
    case 'listen': {
      try {
        if (message.grant !== undefined)
          grant = { grant: message.grant, nodeIds: message.identity.node_ids };
        channels ??= new OutputChannels(message.digest, message.identity, {
          onAck: onChannelAck,
          onClose: onChannelClose,
          onRun: (name, request) => void takeRun(name, request),
          onWake,
        });
        post({ k: 'listening', address: await channels.listen(message.host) });
      } catch (error) {
        post({ k: 'listening', error: (error as Error).message });
      }
      return;
    }
    case 'warm': {
      armed = message.next;
      index = message.index;
      peers = message.peers ?? [];
      peers.forEach((peer, p) => peer?.on('message', (m: PeerMessage) => onPeer(p, m)));
      for (const spec of message.warm.functions)
        functions.set(spec.node_id, await loadFunction(spec));
      await stores.warm(message.warm.stores);
      post({ k: 'ready', loaded: [...functions.keys()] });
      return;
    }
    case 'template': {
      if (message.forget !== undefined) templates.delete(message.forget);
      // The routing of a run reading every source of the group, compiled now: a run names its
      // sources in template order (the orchestrator resolves one per source node).
      const { template, node_ids: nodeIds, type_keys: typeKeys } = message.template;
      const group = new Set(nodeIds);
      const sources = template.nodes
        .filter((n) => n.kind === 'source' && group.has(n.id))
        .map((n) => n.id);
      const graphs = new Map<string, NodeGraph>();
      try {
        graphs.set(sources.join('\u0000'), compileGraph(template, nodeIds, sources, typeKeys));
      } catch {
        // A routing that cannot be compiled fails the run that needs it, with its reason.
      }
      templates.set(message.id, { template: message.template, graphs });
      return;
    }
    case 'deploy': {
      armed = message.next;
      // The main thread keeps as many templates as the threads: it says which one goes.
      if (message.forget !== undefined) templates.delete(message.forget);
      const run = message.spec.execution_id;
      if (taken !== null && taken.run === run && !taken.confirmed) {
        // The run this thread took from its channel: the same counters mean the same chunks.
        if (runCountersSerial(message.counters) !== taken.serial) {
          dropTaken(run);
          throw new WarmflowError(
            'E_DEPLOY',
            `thread ${index} started run ${run} with other counters than the worker deployed it with`,
          );
        }
        confirmTaken(message.limits);
        return;
      }
      dropTaken();
      runtime?.handle({ k: 'cancel' });
      if (dropped.has(run))
        throw new WarmflowError(
          'E_DEPLOY',
          `thread ${index} started run ${run} from its channel and dropped it before the worker deployed it; its first records may have been sent, so it is not run again`,
        );
      remember(recent, run);
      const id = message.spec.template_id;
      let kept = id === undefined ? undefined : templates.get(id);
      if (message.template !== undefined) {
        kept = { template: message.template, graphs: new Map() };
        if (id !== undefined) templates.set(id, kept);
      }
      if (kept === undefined)
        throw new WarmflowError('E_UNKNOWN_VERSION', `thread ${index} holds no template ${id}`);
      const spec: DeploySpec = { ...message.spec, ...kept.template };
      // A warm-up run (the resource's own, before any request) runs warmflow's functions.
      const runFunctions = message.warmUp === true ? WARM_UP_FUNCTIONS : functions;
      for (const node of spec.node_ids) {
        const isFunction = spec.template.nodes.some((n) => n.id === node && n.kind === 'function');
        if (isFunction && !runFunctions.has(node)) {
          throw new WarmflowError('E_DEPLOY', `node "${node}" was not warmed on this resource`);
        }
      }
      const runtimePost = runPost(message.out, message.spec.execution_id);
      runtimeOut = message.out;
      const deploying = new PartitionRuntime({
        index,
        peers: peers.length > 0 ? peers : [null],
        functions: runFunctions,
        stores,
        post: runtimePost,
        run: message.spec.execution_id,
      });
      runtime = deploying;
      // What faster peers already sent for this run; anything older is from finished runs.
      const held = early.splice(0);
      for (const [from, m] of held) if (m.r === runtime.run) runtime.peerMessage(from, m);
      // A deploy normally takes milliseconds; one that hangs (a store that never answers)
      // leaves a line in the worker log saying where, for the stall the orchestrator reports.
      const slow = setTimeout(
        () =>
          process.stderr.write(
            `data-plane thread ${index}: run ${message.spec.execution_id} still deploying after 5 s (${deployStep.at})\n`,
          ),
        5000,
      );
      slow.unref();
      try {
        await deploying.deploy(spec, chunkCounters(message.counters), {
          step: deployStep,
          graphs: kept.graphs,
          ...(message.restore !== undefined ? { restore: message.restore } : {}),
          ...(message.limits !== undefined ? { limits: message.limits } : {}),
        });
      } catch (error) {
        // A run dropped while it deployed (its `stopped` answer has gone) says nothing more.
        if (deploying.active) throw error;
        return;
      } finally {
        clearTimeout(slow);
      }
      if (deploying.active) post({ k: 'deployed' });
      return;
    }
    case 'cancel':
      if (message.run !== undefined) {
        // The main thread's run `run` ended: so does this thread's, taken or deployed.
        dropTaken(message.run);
        if (runtime?.run === message.run) runtime.handle(message);
        remember(recent, message.run);
      } else if (taken === null || taken.confirmed) runtime?.handle(message);
      if (message.stopped === true) post({ k: 'stopped' });
      return;
    default:
      runtime?.handle(message);
  }
}
