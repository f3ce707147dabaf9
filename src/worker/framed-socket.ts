import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import { WarmflowError } from '../errors.js';
import { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
import {
  encodeFrame,
  toWireError,
  type Frame,
  type RequestMessage,
  type RequestType,
  type ResponseBody,
  type ResponseError,
  type ResponseOk,
  type WireMessage,
} from './protocol.js';

/**
 * One end of a worker-protocol connection: writes frames (JSON + optional opaque payload, the
 * payload written as-is), decodes incoming frames, and exposes the socket's backpressure.
 * Both the worker (each accepted connection) and {@link WorkerClient} use it; `In` is what the
 * other end may send, validated as frames are decoded: a malformed message closes the
 * connection with the `E_PROTOCOL` error as the close reason.
 *
 * Events: `frame` (Frame), `close` (Error | undefined).
 */
export class FramedSocket<In extends WireMessage = WireMessage> extends EventEmitter<{
  frame: [Frame<In>];
  close: [Error | undefined];
}> {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder<In>;
  #closed = false;
  #closeError: Error | undefined;
  /** A malformed frame arrived: nothing more is read, the connection is closing. */
  #refused = false;

  constructor(socket: Socket, options: FrameDecoderOptions<In>) {
    super();
    this.#socket = socket;
    this.#decoder = new FrameDecoder(options);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#refused) return;
      const frames = this.#decoder.frames(chunk);
      for (;;) {
        let next: IteratorResult<Frame<In>, void>;
        try {
          next = frames.next();
        } catch (error) {
          this.#refuse(error as Error);
          return;
        }
        if (next.done === true || this.#closed) return;
        this.emit('frame', next.value);
      }
    });
    socket.on('error', (error) => {
      this.#closeError ??= error;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.emit('close', this.#closeError);
    });
  }

  /** Changes the frame size limit (the worker raises it once a connection has authenticated). */
  set maxFrameBytes(bytes: number) {
    this.#decoder.maxFrameBytes = bytes;
  }

  /** `host:port` of the other end, for logs. */
  get remoteAddress(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  /** True once the connection is closed or its socket destroyed (the close event may lag). */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  /** True when the kernel buffer is full: wait for {@link drain} before sending more batches. */
  get writableNeedDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  /**
   * Sends one frame. Returns false when the socket's buffer is over its high-water mark (the frame
   * is still queued; the caller should `await drain()` before sending more). Sending on a closed
   * connection throws.
   */
  send(message: WireMessage, payload?: Buffer): boolean {
    if (this.#closed || this.#socket.destroyed) {
      throw new WarmflowError(
        'E_CONNECTION_CLOSED',
        `connection to ${this.remoteAddress} is closed`,
      );
    }
    const [head, body] = encodeFrame(message, payload);
    if (body === undefined || body.length === 0) return this.#socket.write(head);
    this.#socket.cork();
    this.#socket.write(head);
    const ok = this.#socket.write(body);
    this.#socket.uncork();
    return ok;
  }

  /** Sends a frame encoded already (`encodeFrame`'s head, no payload): one encoding for several sockets. */
  sendEncoded(head: Buffer): boolean {
    if (this.#closed || this.#socket.destroyed) {
      throw new WarmflowError(
        'E_CONNECTION_CLOSED',
        `connection to ${this.remoteAddress} is closed`,
      );
    }
    return this.#socket.write(head);
  }

  /** Answers request `request` (sets `re` and `ok: true`). */
  reply<K extends RequestType>(
    request: RequestMessage<K>,
    body: ResponseBody<K>,
    payload?: Buffer,
  ): boolean {
    const answer = { ...body, type: request.type, re: request.id, ok: true } as ResponseOk;
    return this.send(answer, payload);
  }

  /** Answers request `request` with an error. */
  fail(request: { type: RequestType; id: number }, error: unknown): boolean {
    const answer: ResponseError = {
      type: request.type,
      re: request.id,
      ok: false,
      error: toWireError(error),
    };
    return this.send(answer);
  }

  /** Resolves when the socket can take more (immediately when it already can or is closed). */
  async drain(): Promise<void> {
    if (!this.#socket.writableNeedDrain || this.#closed) return;
    // The event that loses the race must not stay listened to: one per wait would pile up.
    const settled = new AbortController();
    const { signal } = settled;
    try {
      await Promise.race([
        once(this.#socket, 'drain', { signal }),
        once(this.#socket, 'close', { signal }),
      ]);
    } finally {
      settled.abort();
    }
  }

  /** Flushes what is queued, then closes. */
  end(): void {
    this.#socket.end();
  }

  /**
   * Stops reading after a malformed frame and closes once what was written (an answer naming
   * the error) is flushed; `error` is the close reason. A peer that does not hang up in turn
   * is cut off after a second.
   */
  #refuse(error: Error): void {
    this.#refused = true;
    this.#closeError ??= error;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1_000).unref();
  }

  /** Closes at once (refused authentication, shutdown). */
  destroy(error?: Error): void {
    this.#closeError ??= error;
    this.#socket.destroy();
  }
}
