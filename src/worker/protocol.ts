import { createHash, timingSafeEqual } from 'node:crypto';
import { WarmflowError, type ErrorCode } from '../errors.js';
import type { DeploySpec, DeployTemplate, RunResult, RunSpec } from './dataplane/deploy-spec.js';
import type { ResourceUsage } from './worker-contract.js';

/**
 * The worker wire protocol, version 1. Every frame is
 *
 * ```
 * [u32 BE frame length (bytes after this field)] [u8 kind] [u32 BE header length] [JSON header] [payload]
 * ```
 *
 * The JSON header is a {@link WireMessage}: requests ({@link WorkerRequests}, answered by a
 * message carrying `re` = the request's `id` and `ok`), notices ({@link WorkerNotices}) and
 * events ({@link WorkerEvents}); each side validates what it receives when it decodes it. The
 * payload is opaque bytes (e.g. a batch of records the data plane encoded once) and travels
 * without being re-encoded or copied into the header.
 *
 * A new message is one entry in the map of its kind and one in its parser's table
 * (`wire-messages.ts`).
 *
 * Bump {@link PROTOCOL_VERSION} on any incompatible change; `hello` carries it and a worker refuses
 * a version it does not speak.
 */
export const PROTOCOL_VERSION = 1;

/** Frame kinds: the only difference is whether a payload follows the header (even an empty one). */
export const FrameKind = { message: 1, messageWithPayload: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Bytes before the JSON header: length (4) + kind (1) + header length (4). */
export const FRAME_PREFIX_BYTES = 9;

/** Largest frame accepted after authentication (record batches); configurable per decoder. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Largest frame accepted before authentication: a `hello` is small, anything bigger is an attack. */
export const PRE_AUTH_MAX_FRAME_BYTES = 64 * 1024;

/** An error as it travels on the wire (a {@link WarmflowError} without the stack). */
export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** A message with no fields of its own. */
export type NoFields = Record<never, never>;

/** Batches (or counts) per source name. */
export type SourceCounts = Record<string, number>;

/** What the worker says about itself in its `hello` answer. */
export interface WorkerHello {
  resource_id: string;
  node_ids: string[];
  pid: number;
  version: number;
  /**
   * Where each data-plane thread listens for its output channel (a worker on loopback or a
   * socket file; absent elsewhere): a connection that says `hello` with a `channel` there
   * receives that thread's `df.out` directly and sends it the `df.out-ack`s.
   */
  threads?: string[];
}

/** What the worker answers to `health` and sends on every heartbeat. */
export interface WorkerHealth {
  status: 'ready';
  resource_id: string;
  node_ids: string[];
  pid: number;
  uptime_ms: number;
  connections: number;
  usage: ResourceUsage;
  /** The data plane's own figures (`DataPlane.stats`), free-form JSON. */
  data_plane?: unknown;
}

/**
 * Every request the orchestrator sends (`id` set, exactly one answer comes back): the request's
 * own fields, then the fields of a successful answer.
 */
export interface WorkerRequests {
  /**
   * The first message of every connection; the worker refuses a wrong token or version. On a
   * thread's output channel it names the channel (`df.run`'s `out`).
   */
  hello: [{ version: number; token?: string; channel?: string }, WorkerHello];
  ping: [NoFields, NoFields];
  health: [NoFields, WorkerHealth];
  usage: [NoFields, { usage: ResourceUsage }];
  /** Heartbeats every `interval_ms` on this connection (the worker keeps at least 50). */
  watch: [{ interval_ms?: number }, { interval_ms: number }];
  shutdown: [{ reason?: string }, NoFields];
  /**
   * Deploys and runs a dataflow; answered when the run is over. A resumed checkpointed run
   * has a payload: the keyed state to restore, `{node: [[item key, value]…]}` as JSON. With
   * `out`, every thread sends its output over its own channel of that name (`hello` on the
   * thread's address) instead of through this connection.
   */
  'df.run': [
    { spec: WireDeploySpec; progress_interval_ms?: number; out?: string },
    { result: RunResult },
  ];
  /**
   * Keeps a deploy template ahead of any run (a pool sends its group's when it connects): the
   * worker holds it under `template_id` and its threads compile its routing, so a first
   * `df.run` naming the id carries only its run part. Refused when the template does not hash
   * to its id. Nothing of it runs until a `df.run` names it (and passes the worker's checks).
   */
  'df.template': [{ template_id: string; template: DeployTemplate }, NoFields];
  /**
   * A commit point of a live run: answered once `counts` batches per source are processed and
   * their output acknowledged. With `epoch` (a checkpointed live run) the batches since the
   * last commit are that epoch: its writes commit to every store with the epoch's marker and
   * its checkpoint is recorded (`df.checkpoint`, `df.checkpointed`) before the answer.
   */
  'df.commit': [{ counts: SourceCounts; epoch?: number }, { committed: true }];
}

/**
 * The spec of a `df.run` as it travels: whole, or, when it names by `template_id` a template
 * part the worker already holds, only its run part (the worker answers `E_UNKNOWN_VERSION`
 * when it does not hold it; the orchestrator then sends the spec whole).
 */
export type WireDeploySpec = DeploySpec | (RunSpec & { template_id: string });

/** A `df.run` as the data plane gets it: the worker has made its spec whole. */
export type DeployRequest = RequestMessage<'df.run'> & { spec: DeploySpec };

/** Messages to the worker that want no answer. */
export interface WorkerNotices {
  /** Pushed source batch `seq` of `source`; the payload is `{"records":[...],"positions":[...]}`. */
  'df.batch': { source: string; seq: number };
  /** Every pushed source is done, with each one's batch count. */
  'df.end': { counts: SourceCounts };
  /** The orchestrator wrote a `df.out` batch of `thread` (of run `execution_id`). */
  'df.out-ack': { thread: number; execution_id?: string };
  'df.cancel': NoFields;
  /** Checkpoint `epoch` (-1: the run's plan) is recorded: the resource may go on. */
  'df.checkpointed': { epoch: number };
  /**
   * Over a thread's output channel: a run is on its way, stay awake for it up to `ms`
   * (at most {@link MAX_WAKE_MS}) instead of sleeping between events.
   */
  'df.wake': { ms: number };
}

/** The longest a `df.wake` keeps a data-plane thread awake (ms). */
export const MAX_WAKE_MS = 5;

/** Messages the worker sends unasked. */
export interface WorkerEvents {
  heartbeat: WorkerHealth;
  'df.deployed': { execution_id: string };
  /** Pushed batch `seq` of `source` is processed (a credit back). */
  'df.ack': { source: string; seq: number };
  /** Output of `node` as JSONL in the payload: `count` records of `data_type`, from `thread` (of run `execution_id`). */
  'df.out': {
    node: string;
    data_type: string;
    count: number;
    thread: number;
    execution_id?: string;
  };
  'df.first-write': { at: number };
  /** The run moved: `progress` counts thread messages and chunks taken; `chunks` is file chunks read. */
  'df.progress': { progress: number; chunks: number; taken?: number[] };
  /**
   * Epoch `epoch` is committed to every store: the orchestrator records the checkpoint and
   * answers `df.checkpointed`. The payload is the epoch's keyed state changes as JSON.
   * Epoch -1 is a run's plan, sent before anything commits: positions at the start, `next`
   * the end of a first epoch the resource sized from a rate it learned.
   */
  'df.checkpoint': {
    epoch: number;
    /** Per source: the first chunk of the next epoch. */
    positions: number[];
    /** Per source: the end of the next epoch. */
    next: number[];
    nodes: RunResult['nodes'];
    written: number;
    skipped: number;
    /** Whether it was the last epoch (every source read). */
    last: boolean;
    chunk_bytes: number[];
  };
}

export type RequestType = keyof WorkerRequests;
export type NoticeType = keyof WorkerNotices;
export type EventType = keyof WorkerEvents;

/** A request of type `K` as a caller writes it (the client adds the `id`). */
export type RequestBody<K extends RequestType> = { type: K } & WorkerRequests[K][0];
/** A request of type `K` as it travels. */
export type RequestMessage<K extends RequestType = RequestType> = {
  [T in K]: { type: T; id: number } & WorkerRequests[T][0];
}[K];
/** The fields of a successful answer to a `K` request. */
export type ResponseBody<K extends RequestType> = WorkerRequests[K][1];
/** A successful answer to a `K` request. */
export type ResponseOk<K extends RequestType = RequestType> = {
  [T in K]: { type: T; re: number; ok: true } & WorkerRequests[T][1];
}[K];
/** An answer to any request that failed. */
export interface ResponseError {
  type: RequestType;
  re: number;
  ok: false;
  error: WireError;
}
export type NoticeMessage<K extends NoticeType = NoticeType> = {
  [T in K]: { type: T } & WorkerNotices[T];
}[K];
export type EventMessage<K extends EventType = EventType> = {
  [T in K]: { type: T } & WorkerEvents[T];
}[K];

/** Everything the orchestrator may send a worker. */
export type ToWorker = RequestMessage | NoticeMessage;
/** Everything a worker may send its orchestrator. */
export type FromWorker = ResponseOk | ResponseError | EventMessage;
/** The data plane's part of {@link ToWorker}: every `df.` message (`df.run` made whole). */
export type DataPlaneMessage =
  Exclude<Extract<ToWorker, { type: `df.${string}` }>, { type: 'df.run' }> | DeployRequest;

/**
 * One JSON control message: a closed union, discriminated by `type`. Decoders validate every
 * field of it ({@link parseToWorker}, {@link parseFromWorker}), so a handler never sees a
 * field of the wrong type.
 */
export type WireMessage = ToWorker | FromWorker;

/** A decoded frame. `payload` is undefined for {@link FrameKind.message}. */
export interface Frame<M extends { type: string } = WireMessage> {
  message: M;
  payload: Buffer | undefined;
}

/**
 * Encodes one frame as two buffers (prefix + header, then the payload as given) so a caller can
 * write both without copying the payload: `socket.cork(); write(a); write(b); socket.uncork()`.
 */
export function encodeFrame(message: WireMessage, payload?: Buffer): [Buffer, Buffer | undefined] {
  const header = Buffer.from(JSON.stringify(message), 'utf8');
  const payloadBytes = payload === undefined ? 0 : payload.length;
  const head = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + header.length);
  head.writeUInt32BE(5 + header.length + payloadBytes, 0);
  head.writeUInt8(payload === undefined ? FrameKind.message : FrameKind.messageWithPayload, 4);
  head.writeUInt32BE(header.length, 5);
  header.copy(head, FRAME_PREFIX_BYTES);
  return [head, payload];
}

/** Encodes one frame into a single buffer (tests, small messages). */
export function encodeFrameBuffer(message: WireMessage, payload?: Buffer): Buffer {
  const [head, body] = encodeFrame(message, payload);
  return body === undefined || body.length === 0 ? head : Buffer.concat([head, body]);
}

/**
 * Hashes a token to a fixed length so `timingSafeEqual` never sees buffers of different sizes.
 * Also what a data-plane thread is given to check a `hello` with ({@link digestMatches}): the
 * thread runs tenant code, which must not be able to read the token itself.
 */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Whether a presented token hashes to `digest` (constant time). */
export function digestMatches(presented: unknown, digest: Uint8Array): boolean {
  if (typeof presented !== 'string' || digest.length !== 32) return false;
  return timingSafeEqual(tokenDigest(presented), digest);
}

/**
 * Compares a presented token with the expected one in constant time (both are hashed to
 * equal-length digests first, so neither the content nor the length leaks through timing).
 */
export function tokenMatches(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string' || expected.length === 0) return false;
  return timingSafeEqual(tokenDigest(presented), tokenDigest(expected));
}

/** Builds the wire form of any thrown value. */
export function toWireError(thrown: unknown): WireError {
  if (thrown instanceof WarmflowError) {
    return thrown.hint === undefined
      ? { code: thrown.code, message: thrown.message }
      : { code: thrown.code, message: thrown.message, hint: thrown.hint };
  }
  return {
    code: 'E_WORKER',
    message: thrown instanceof Error ? thrown.message : String(thrown),
  };
}

/** Turns an error received on the wire back into a {@link WarmflowError}. */
export function fromWireError(error: WireError | undefined, context: string): WarmflowError {
  if (error === undefined) return new WarmflowError('E_WORKER', `${context}: request failed`);
  return new WarmflowError(
    error.code,
    `${context}: ${error.message}`,
    error.hint === undefined ? {} : { hint: error.hint },
  );
}
