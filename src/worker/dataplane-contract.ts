import type { WorkerGrant } from '../template/types.js';
import type { WarmSpec } from './worker-contract.js';
import type {
  DataPlaneMessage,
  EventMessage,
  RequestMessage,
  RequestType,
  ResponseBody,
} from './protocol.js';

/**
 * What a data plane sees of one authenticated connection to the worker. Frames carry a JSON
 * message and an optional opaque payload (a record batch encoded once); nothing is re-encoded.
 *
 * Backpressure: `send` returns false when the socket buffer is full; `await drain()` before
 * sending the next batch (or check `writableNeedDrain`).
 */
export interface WorkerConnection {
  /** Unique per worker process, for per-connection state in the data plane. */
  readonly id: number;
  /** `host:port` of the peer, for logs. */
  readonly remoteAddress: string;
  readonly closed: boolean;
  readonly writableNeedDrain: boolean;
  /** Sends an unsolicited frame (an event, a produced batch). */
  send(message: EventMessage, payload?: Buffer): boolean;
  /** Answers a request (copies its `id` into `re`, sets `ok: true`). */
  reply<K extends RequestType>(
    request: RequestMessage<K>,
    body: ResponseBody<K>,
    payload?: Buffer,
  ): boolean;
  /** Answers a request with an error (a WarmflowError keeps its code and hint). */
  fail(request: RequestMessage, error: unknown): boolean;
  /** Resolves once the socket can take more. */
  drain(): Promise<void>;
  /** Registers a listener called once when the connection closes. */
  onClose(listener: () => void): void;
}

/** A minimal structured logger (pino-compatible subset) the worker hands to its data plane. */
export interface WorkerLog {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** What the worker knows when it creates its data plane. */
export interface DataPlaneContext {
  warm: WarmSpec;
  /** Node instances that may run in parallel (threads). */
  cpuCores: number;
  memoryGb: number;
  resourceId: string;
  log: WorkerLog;
}

/**
 * The extension point where record processing plugs into the worker. The worker itself handles
 * `hello`, `ping`, `health`, `usage`, `watch` and `shutdown`; every `df.` message of an
 * authenticated connection (validated already) goes to {@link DataPlane.handle}. When `handle` throws or rejects for
 * a request (a message with `id`), the worker answers it with the error.
 */
export interface DataPlane {
  handle(
    message: DataPlaneMessage,
    payload: Buffer | undefined,
    connection: WorkerConnection,
  ): Promise<void> | void;
  /**
   * Opens the threads' own output channels on `host` (a loopback address or `unix:/path`),
   * authenticated with `token`; resolves with their addresses, which the worker's `hello`
   * answer lists. Absent, or not called: output goes through the connection that sent `df.run`.
   */
  openChannels?(
    host: string,
    token: string,
    identity: { resource_id: string; node_ids: string[] },
    /** What the worker may run: a thread checks a run sent over its channel against it. */
    grant?: WorkerGrant,
  ): Promise<string[]>;
  /** Extra figures reported with `health` and on the heartbeat (queue depths, records/s...). */
  stats?(): unknown;
  /** Stops threads and closes store connections; called once on shutdown. */
  close(): Promise<void>;
}

/**
 * Creates the data plane. The worker calls it **while warming**, before it reports ready, so
 * loading function modules, starting threads and opening store connections are all paid before
 * any request. Implemented in `worker/dataplane/`.
 */
export type CreateDataPlane = (context: DataPlaneContext) => Promise<DataPlane>;
