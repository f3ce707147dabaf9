import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { WarmflowError } from '../errors.js';
import { FramedSocket } from './framed-socket.js';
import {
  PRE_AUTH_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  encodeFrame,
  fromWireError,
  type EventMessage,
  type FromWorker,
  type Frame,
  type NoticeMessage,
  type RequestBody,
  type RequestMessage,
  type RequestType,
  type ResponseOk,
  type WorkerHello,
} from './protocol.js';
import { parseFromWorker } from './wire-messages.js';

/** Parses `host:port` (IPv6 as `[::1]:port`). */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (match === null) throw new WarmflowError('E_ADDRESS', `not a host:port address: ${address}`);
  return { host: match[1], port: Number(match[2]) };
}

interface Pending {
  resolve: (frame: Frame<ResponseOk>) => void;
  reject: (error: Error) => void;
  type: RequestType;
}

/**
 * A connection to a worker: authenticates with the pool's token, then correlates requests with
 * responses by id; an answer is typed by its request (`request({ type: 'df.run', ... })`
 * resolves with `{ result: RunResult }`). Events (heartbeats, data-plane events) are emitted
 * as `message`. Every frame is validated as it is decoded: a malformed one closes the
 * connection and rejects what is pending with the `E_PROTOCOL` error.
 *
 * ```ts
 * const client = await WorkerClient.connect(rac.network_address, token);
 * const { message } = await client.request({ type: 'health' });
 * client.on('message', ({ message, payload }) => { ... });
 * ```
 */
export class WorkerClient extends EventEmitter<{
  message: [Frame<EventMessage>];
  close: [Error | undefined];
}> {
  readonly #socket: FramedSocket<FromWorker>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** What the worker answered to `hello`. */
  hello: WorkerHello | undefined;
  /**
   * Deploy templates (`DeploySpec.template_id`) sent whole over this connection: the worker
   * keeps them, so a later `df.run` may name one and carry only its run part.
   */
  readonly templates = new Set<string>();
  /** The threads' output channels this client opened (by thread index), if any. */
  #threads: WorkerClient[] = [];
  /** The name they were opened under: `df.run`'s `out`. */
  outChannel: string | undefined;

  private constructor(socket: FramedSocket<FromWorker>) {
    super();
    this.#socket = socket;
    socket.on('frame', (frame) => this.#onFrame(frame));
    socket.on('close', (error) => {
      const reason =
        error instanceof WarmflowError && error.code === 'E_PROTOCOL'
          ? error
          : new WarmflowError('E_CONNECTION_CLOSED', 'connection to worker closed', {
              cause: error,
            });
      for (const pending of this.#pending.values()) pending.reject(reason);
      this.#pending.clear();
      for (const thread of this.#threads) thread.close();
      this.emit('close', error);
    });
  }

  /** Opens a connection and authenticates; rejects when the worker refuses the token. */
  static async connect(
    address: string,
    token: string,
    options: {
      timeoutMs?: number;
      /**
       * Also open the output channel of every data-plane thread the worker lists (for runs:
       * each thread's output comes straight from it, not relayed by the worker's main thread).
       */
      channels?: boolean;
      /** This connection is the output channel of this name (a thread's address). */
      channel?: string;
    } = {},
  ): Promise<WorkerClient> {
    const socket = address.startsWith('unix:')
      ? net.connect({ path: address.slice('unix:'.length) })
      : net.connect(parseAddress(address));
    const timeoutMs = options.timeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new WarmflowError(
            'E_CONNECT',
            `no connection to worker at ${address} after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
      socket.once('error', (cause) => {
        clearTimeout(timer);
        reject(
          new WarmflowError(
            'E_CONNECT',
            `cannot connect to worker at ${address}: ${cause.message}`,
            { cause },
          ),
        );
      });
    });
    const client = new WorkerClient(new FramedSocket(socket, { parse: parseFromWorker }));
    const { message } = await client.request({
      type: 'hello',
      version: PROTOCOL_VERSION,
      token,
      ...(options.channel !== undefined ? { channel: options.channel } : {}),
    });
    client.hello = {
      resource_id: message.resource_id,
      node_ids: message.node_ids,
      pid: message.pid,
      version: message.version,
      ...(message.threads !== undefined ? { threads: message.threads } : {}),
    };
    if (options.channels === true && message.threads !== undefined && message.threads.length > 0)
      await client.#openChannels(message.threads, token, options.timeoutMs);
    return client;
  }

  /**
   * Opens an output channel to each thread at `addresses`, under one random name. Their
   * frames are this client's `message` events; one closing closes this connection (the
   * resource is gone or broken, and a run on it cannot go on).
   */
  async #openChannels(addresses: string[], token: string, timeoutMs?: number): Promise<void> {
    const channel = randomBytes(16).toString('hex');
    const opened = await Promise.allSettled(
      addresses.map((address) =>
        WorkerClient.connect(address, token, {
          channel,
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        }),
      ),
    );
    const threads = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = opened.find((o) => o.status === 'rejected');
    if (refused !== undefined) {
      for (const thread of threads) thread.close();
      this.close();
      throw refused.reason;
    }
    this.#threads = threads;
    this.outChannel = channel;
    threads.forEach((thread, index) => {
      thread.on('message', (frame) => {
        // A channel carries output and nothing else (tenant code runs in the thread).
        if (frame.message.type !== 'df.out') {
          this.#socket.destroy(
            new WarmflowError(
              'E_PROTOCOL',
              `the output channel of thread ${index} sent "${frame.message.type}"`,
            ),
          );
          return;
        }
        // A batch is acknowledged on the channel it came in on, whatever thread it names.
        this.emit(
          'message',
          frame.message.thread === index
            ? frame
            : { ...frame, message: { ...frame.message, thread: index } },
        );
      });
      thread.on('close', (error) => {
        if (!this.closed)
          this.#socket.destroy(
            new WarmflowError('E_CONNECTION_CLOSED', 'an output channel of the worker closed', {
              cause: error,
            }),
          );
      });
    });
  }

  get closed(): boolean {
    return this.#socket.closed;
  }

  get writableNeedDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  /**
   * Sends a request and resolves with the response frame; rejects with the worker's error, when
   * the connection closes first, or after `timeoutMs` (default: no limit).
   */
  request<K extends RequestType>(
    message: RequestBody<K>,
    payload?: Buffer,
    options: { timeoutMs?: number } = {},
    /** Called with the encoded frame (no payload) before it is written here. */
    before?: (head: Buffer) => void,
  ): Promise<Frame<ResponseOk<K>>> {
    const id = this.#nextId++;
    return new Promise<Frame<ResponseOk<K>>>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs !== undefined) {
        const timeoutMs = options.timeoutMs;
        timer = setTimeout(() => {
          this.#pending.delete(id);
          reject(
            new WarmflowError(
              'E_WORKER_TIMEOUT',
              `worker did not answer "${message.type}" within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
      }
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
      this.#pending.set(id, {
        // The decoder checked the answer's fields against its type, and #onFrame that its
        // type is the request's: it is the answer to a K.
        resolve: settle(resolve as (frame: Frame<ResponseOk>) => void),
        reject: settle(reject),
        type: message.type,
      });
      try {
        if (before === undefined) this.#socket.send({ ...message, id } as RequestMessage, payload);
        else {
          const [head] = encodeFrame({ ...message, id } as RequestMessage);
          before(head);
          this.#socket.sendEncoded(head);
        }
      } catch (error) {
        this.#pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /**
   * Tells each data-plane thread that a run is on its way, so that it stays awake for it up
   * to `ms` (at most `MAX_WAKE_MS`) rather than sleep until the frame wakes it (over the
   * output channels; nothing is sent without them).
   */
  wake(ms: number): void {
    for (const thread of this.#threads) {
      try {
        thread.#socket.send({ type: 'df.wake', ms });
      } catch {
        // A channel that has closed closes this connection too (see #openChannels).
      }
    }
  }

  /**
   * Sends `df.run` and resolves with its answer, as {@link request} does; the same frame goes
   * first to every thread's output channel (when this client opened them), so that each thread can start the run itself without waiting for the worker's main
   * thread to hand it over. Only a run part goes (a run that carries a payload, or a frame
   * larger than a channel takes, goes to the worker alone).
   */
  run(message: RequestBody<'df.run'>, payload?: Buffer): Promise<Frame<ResponseOk<'df.run'>>> {
    if (payload !== undefined || this.#threads.length === 0) return this.request(message, payload);
    return this.request(message, undefined, {}, (head) => {
      if (head.length > PRE_AUTH_MAX_FRAME_BYTES) return;
      for (const thread of this.#threads) {
        try {
          thread.#socket.sendEncoded(head);
        } catch {
          // A channel that has closed closes this connection too (see #openChannels).
        }
      }
    });
  }

  /** Sends a frame that expects no response. Returns false when the caller should `drain()`. */
  send(message: NoticeMessage, payload?: Buffer): boolean {
    // An acknowledgement goes back the way its output came: over the thread's channel.
    if (message.type === 'df.out-ack' && message.thread < this.#threads.length)
      return this.#threads[message.thread].send(message);
    return this.#socket.send(message, payload);
  }

  /** Resolves once the socket can take more. */
  drain(): Promise<void> {
    return this.#socket.drain();
  }

  /** One round trip; resolves with the worker's uptime figures. */
  async ping(): Promise<void> {
    await this.request({ type: 'ping' });
  }

  /** Closes the connection (pending requests reject). */
  close(): void {
    this.#socket.end();
  }

  #onFrame(frame: Frame<FromWorker>): void {
    const message = frame.message;
    if (!('re' in message)) {
      this.emit('message', { message, payload: frame.payload });
      return;
    }
    // An answer nobody waits for any more (its request timed out) is dropped.
    const pending = this.#pending.get(message.re);
    if (pending === undefined) return;
    this.#pending.delete(message.re);
    if (message.type !== pending.type) {
      const error = new WarmflowError(
        'E_PROTOCOL',
        `worker answered a "${pending.type}" request as "${message.type}"`,
      );
      pending.reject(error);
      this.#socket.destroy(error);
    } else if (message.ok) pending.resolve({ message, payload: frame.payload });
    else pending.reject(fromWireError(message.error, `worker ${pending.type}`));
  }
}
