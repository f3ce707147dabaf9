import net from 'node:net';
import { WarmflowError } from '../../errors.js';
import { FramedSocket } from '../framed-socket.js';
import { listenOn } from '../listen.js';
import {
  PRE_AUTH_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  digestMatches,
  type Frame,
  type NoticeMessage,
  type RequestMessage,
  type ToWorker,
} from '../protocol.js';
import { parseToWorker, requestOf } from '../wire-messages.js';

/** A connection that has not said a valid `hello` by then is dropped. */
const AUTH_TIMEOUT_MS = 5_000;
/** Connections a thread keeps at once (an orchestrator needs one; reconnections need a few). */
const MAX_CONNECTIONS = 16;
/** Longest channel name accepted (the orchestrator's are 32 hex digits). */
const MAX_CHANNEL_CHARS = 64;

/** Who the thread says it is in its `hello` answer. */
export interface ChannelIdentity {
  resource_id: string;
  node_ids: string[];
}

/**
 * A data-plane thread's own listening socket, over which it sends its output (`df.out`)
 * straight to the orchestrator and gets the acknowledgements back (`df.out-ack`), without
 * the worker's main thread relaying either (one wake-up fewer on the way to the first
 * output record, and no copy of every batch through the main thread).
 *
 * It is as guarded as the worker's own server: a connection must first say `hello` with the
 * pool's token, the protocol version and the name of its channel (the name `df.run`'s `out`
 * will give); anything else, a wrong token, or silence past the auth timeout drops it.
 * Frames are at most {@link PRE_AUTH_MAX_FRAME_BYTES} (a hello, an acknowledgement, a run
 * part), and after `hello` only `df.out-ack`, `df.wake` and `df.run` are accepted. A `df.run` here is the
 * copy of the worker's that lets the thread start the run before the worker's main thread has
 * handed it over; the thread checks it as the worker does (`thread-entry.ts`), never answers
 * it, and the worker's main thread still decides whether the run goes on.
 */
export class OutputChannels {
  readonly #server: net.Server;
  /** The pool token's digest (the thread never holds the token). */
  readonly #digest: Uint8Array;
  readonly #identity: ChannelIdentity;
  readonly #channels = new Map<string, FramedSocket<ToWorker>>();
  readonly #onAck: (channel: string, ack: NoticeMessage<'df.out-ack'>) => void;
  readonly #onWake: (ms: number) => void;
  readonly #onClose: (channel: string) => void;
  readonly #onRun: (channel: string, request: RequestMessage<'df.run'>) => void;

  constructor(
    digest: Uint8Array,
    identity: ChannelIdentity,
    events: {
      onAck: (channel: string, ack: NoticeMessage<'df.out-ack'>) => void;
      /** An authenticated channel closed. */
      onClose: (channel: string) => void;
      /** A run sent to the thread itself, beside the worker's `df.run` (validated as the worker validates it). */
      onRun: (channel: string, request: RequestMessage<'df.run'>) => void;
      /** A run is on its way: stay awake for it up to `ms` (validated: at most `MAX_WAKE_MS`). */
      onWake: (ms: number) => void;
    },
  ) {
    this.#digest = digest;
    this.#identity = identity;
    this.#onAck = events.onAck;
    this.#onClose = events.onClose;
    this.#onRun = events.onRun;
    this.#onWake = events.onWake;
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  /** Listens on `host` (a loopback address: any free port) or `unix:/path`; resolves with the address. */
  async listen(host: string): Promise<string> {
    return (await listenOn(this.#server, host)).address;
  }

  /** The authenticated connection of channel `name`, if it is open. */
  get(name: string): FramedSocket<ToWorker> | undefined {
    const channel = this.#channels.get(name);
    return channel === undefined || channel.closed ? undefined : channel;
  }

  close(): void {
    for (const channel of this.#channels.values()) channel.destroy();
    this.#server.close();
  }

  #accept(socket: net.Socket): void {
    const framed: FramedSocket<ToWorker> = new FramedSocket(socket, {
      parse: (header) => {
        let message: ToWorker;
        try {
          message = parseToWorker(header);
        } catch (error) {
          const request = requestOf(header);
          if (request !== undefined) framed.fail(request, error);
          throw error;
        }
        if (
          message.type !== 'hello' &&
          message.type !== 'df.out-ack' &&
          message.type !== 'df.wake' &&
          message.type !== 'df.run'
        )
          throw new WarmflowError(
            'E_PROTOCOL',
            `an output channel takes "hello", "df.out-ack", "df.wake" and "df.run", not "${message.type}"`,
          );
        return message;
      },
      maxFrameBytes: PRE_AUTH_MAX_FRAME_BYTES,
    });
    let name: string | null = null;
    const authTimer = setTimeout(() => {
      if (name === null)
        framed.destroy(new WarmflowError('E_AUTH', 'no hello before the auth timeout'));
    }, AUTH_TIMEOUT_MS);
    framed.on('close', () => {
      clearTimeout(authTimer);
      if (name !== null && this.#channels.get(name) === framed) {
        this.#channels.delete(name);
        this.#onClose(name);
      }
    });
    framed.on('frame', ({ message }: Frame<ToWorker>) => {
      if (name === null) {
        if (message.type !== 'hello' || !digestMatches(message.token, this.#digest)) {
          if ('id' in message)
            framed.fail(message, new WarmflowError('E_AUTH', 'authentication failed'));
          framed.end();
          framed.destroy();
          return;
        }
        const channel = message.channel;
        const refusal =
          message.version !== PROTOCOL_VERSION
            ? new WarmflowError(
                'E_PROTOCOL_VERSION',
                `worker speaks protocol ${PROTOCOL_VERSION}, not ${String(message.version)}`,
              )
            : typeof channel !== 'string' ||
                channel.length === 0 ||
                channel.length > MAX_CHANNEL_CHARS
              ? new WarmflowError(
                  'E_PROTOCOL',
                  `an output channel's hello names its channel (1 to ${MAX_CHANNEL_CHARS} characters)`,
                )
              : this.get(channel) !== undefined
                ? new WarmflowError('E_PROTOCOL', `output channel "${channel}" is already open`)
                : null;
        if (refusal !== null) {
          framed.fail(message, refusal);
          framed.end();
          return;
        }
        name = channel!;
        clearTimeout(authTimer);
        this.#channels.set(name, framed);
        framed.reply(message, {
          ...this.#identity,
          pid: process.pid,
          version: PROTOCOL_VERSION,
        });
        return;
      }
      if (message.type === 'df.out-ack') this.#onAck(name, message);
      else if (message.type === 'df.run') this.#onRun(name, message);
      else if (message.type === 'df.wake') this.#onWake(message.ms);
      else framed.destroy(new WarmflowError('E_PROTOCOL', `"${message.type}" after hello`));
    });
  }
}
