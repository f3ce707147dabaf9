import { parentPort, type MessagePort } from 'node:worker_threads';
import { WarmflowError } from '../../errors.js';
import type { UserFunction } from '../../template/function-api.js';
import { loadFunction } from '../load-function.js';
import type { NoticeMessage } from '../protocol.js';
import type { DeploySpec, DeployTemplate } from './deploy-spec.js';
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
/** Peer messages of a run this thread has not deployed yet (or of one it has left). */
const early: Array<[number, PeerMessage]> = [];

/** Hands a peer's message to the run it belongs to, holding it if that run is not here yet. */
function onPeer(from: number, message: PeerMessage): void {
  if (runtime !== null && message.r === runtime.run) runtime.peerMessage(from, message);
  else early.push([from, message]);
}

port.on('message', (message: ToThread & { peers?: Array<MessagePort | null> }) => {
  void onMessage(message).catch((error: unknown) => {
    post({
      k: 'failed',
      error: {
        code: error instanceof WarmflowError ? error.code : 'E_DATAPLANE',
        message: error instanceof Error ? error.message : String(error),
      },
    });
  });
});

/** An acknowledgement on output channel `name`: the current run's, if it is for it. */
function onChannelAck(name: string, ack: NoticeMessage<'df.out-ack'>): void {
  if (runtime !== null && runtimeOut === name && ack.execution_id === runtime.run)
    runtime.handle({ k: 'out-ack' });
}

/** Output channel `name` closed: a run sending over it cannot go on. */
function onChannelClose(name: string): void {
  if (runtime === null || runtimeOut !== name || !runtime.active) return;
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
function runPost(out: string | undefined, run: string): (message: FromThread) => void {
  if (out === undefined) return post;
  const channel = channels?.get(out);
  if (channel === undefined)
    throw new WarmflowError('E_PROTOCOL', `thread ${index} has no output channel "${out}"`);
  let failed = false;
  return (message) => {
    if (message.k !== 'out') return post(message);
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
      post({
        k: 'failed',
        error: {
          code: 'E_CONNECTION_CLOSED',
          message: `output channel of thread ${index} closed: ${(error as Error).message}`,
        },
      });
    }
  };
}

async function onMessage(message: ToThread & { peers?: Array<MessagePort | null> }): Promise<void> {
  switch (message.k) {
    case 'listen': {
      try {
        channels ??= new OutputChannels(message.digest, message.identity, {
          onAck: onChannelAck,
          onClose: onChannelClose,
        });
        post({ k: 'listening', address: await channels.listen(message.host) });
      } catch (error) {
        post({ k: 'listening', error: (error as Error).message });
      }
      return;
    }
    case 'warm': {
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
      runtime?.handle({ k: 'cancel' });
      if (message.forget !== undefined) templates.delete(message.forget);
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
        await deploying.deploy(spec, new Int32Array(message.counters), {
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
      runtime?.handle(message);
      if (message.stopped === true) post({ k: 'stopped' });
      return;
    default:
      runtime?.handle(message);
  }
}
