import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import { WarmflowError } from '../errors.js';
import { FrameDecoder } from './frame-decoder.js';
import {
  encodeFrame,
  toWireError,
  type Frame,
  type WireMessage,
  type WireError,
} from './protocol.js';

/**
 * One end of a worker-protocol connection: writes frames (JSON + optional opaque payload, the
 * payload written as-is), decodes incoming frames, and exposes the socket's backpressure.
 * Both the worker (each accepted connection) and {@link WorkerClient} use it.
 *
 * Events: `frame` (Frame), `close` (Error | undefined).
 */
export class FramedSocket extends EventEmitter<{
  frame: [Frame];
  close: [Error | undefined];
}> {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  #closed = false;
  #closeError: Error | undefined;

  constructor(socket: Socket, options: { maxFrameBytes?: number } = {}) {
    super();
    this.#socket = socket;
    this.#decoder = new FrameDecoder(options);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.#decoder.push(chunk);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      for (const frame of frames) {
        if (this.#closed) return;
        this.emit('frame', frame);
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

  /** Answers request `request` (sets `re` and `ok: true`). */
  reply(
    request: WireMessage,
    body: Omit<WireMessage, 'type'> & { type?: string },
    payload?: Buffer,
  ): boolean {
    return this.send(
      { ...body, type: body.type ?? request.type, re: request.id, ok: true },
      payload,
    );
  }

  /** Answers request `request` with an error. */
  fail(request: WireMessage, error: unknown): boolean {
    const wire: WireError = toWireError(error);
    return this.send({ type: request.type, re: request.id, ok: false, error: wire });
  }

  /** Resolves when the socket can take more (immediately when it already can or is closed). */
  async drain(): Promise<void> {
    if (!this.#socket.writableNeedDrain || this.#closed) return;
    await Promise.race([once(this.#socket, 'drain'), once(this.#socket, 'close')]);
  }

  /** Flushes what is queued, then closes. */
  end(): void {
    this.#socket.end();
  }

  /** Closes at once (protocol violation, refused authentication). */
  destroy(error?: Error): void {
    this.#closeError ??= error;
    this.#socket.destroy();
  }
}
