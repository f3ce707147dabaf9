import { WarmflowError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameKind, type Frame, type WireMessage } from './protocol.js';

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions<M extends WireMessage> {
  /**
   * Validates a decoded JSON header and returns it typed, or throws `E_PROTOCOL`: the side's
   * parser from `wire-messages.ts` (`parseToWorker` on a worker, `parseFromWorker`
   * on an orchestrator).
   */
  parse: (header: unknown) => M;
  maxFrameBytes?: number;
}

/**
 * Incremental decoder of the worker protocol: feed it socket chunks in any split, get whole
 * frames back. A payload that arrived in one chunk is returned as a view of that chunk (no copy);
 * only frames spanning chunks are joined, once, when complete (never re-joined per chunk, so a
 * large batch arriving in many chunks costs one copy, not a quadratic number). Every header is
 * validated by the `parse` it was given before a frame is returned.
 *
 * ```ts
 * const decoder = new FrameDecoder({ parse: parseToWorker });
 * socket.on('data', (chunk) => { for (const frame of decoder.push(chunk)) handle(frame); });
 * ```
 */
export class FrameDecoder<M extends WireMessage> {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #maxFrameBytes: number;
  readonly #parse: (header: unknown) => M;

  constructor(options: FrameDecoderOptions<M>) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#parse = options.parse;
  }

  /** Changes the size limit (raised after authentication). */
  set maxFrameBytes(bytes: number) {
    this.#maxFrameBytes = bytes;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every frame it completes. Throws `E_PROTOCOL` on a malformed or oversized frame or message. */
  push(chunk: Buffer): Array<Frame<M>> {
    return [...this.frames(chunk)];
  }

  /**
   * Adds a chunk and yields the frames it completes one by one, so the frames before a
   * malformed one are handled before its `E_PROTOCOL` error is thrown.
   */
  *frames(chunk: Buffer): Generator<Frame<M>, void, undefined> {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#buffered < 4) return;
      const first = this.#head(4);
      const length = first.readUInt32BE(0);
      if (length < 5 || length > this.#maxFrameBytes) {
        throw new WarmflowError(
          'E_PROTOCOL',
          `frame of ${length} bytes is ${length < 5 ? 'too short' : `over the limit of ${this.#maxFrameBytes}`}`,
        );
      }
      if (this.#buffered < 4 + length) return;
      yield this.#decode(this.#take(4 + length));
    }
  }

  /** Returns the first `bytes` buffered bytes as one buffer, joining chunks only if needed. */
  #head(bytes: number): Buffer {
    if (this.#chunks[0].length < bytes) {
      this.#chunks = [Buffer.concat(this.#chunks, this.#buffered)];
    }
    return this.#chunks[0];
  }

  /** Removes and returns exactly `bytes` bytes from the front. */
  #take(bytes: number): Buffer {
    const first = this.#head(bytes);
    const frame = first.subarray(0, bytes);
    if (first.length === bytes) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(bytes);
    this.#buffered -= bytes;
    return frame;
  }

  #decode(frame: Buffer): Frame<M> {
    const kind = frame.readUInt8(4);
    if (kind !== FrameKind.message && kind !== FrameKind.messageWithPayload) {
      throw new WarmflowError('E_PROTOCOL', `unknown frame kind ${kind}`);
    }
    const headerLength = frame.readUInt32BE(5);
    const headerEnd = 9 + headerLength;
    if (headerEnd > frame.length) {
      throw new WarmflowError('E_PROTOCOL', `header of ${headerLength} bytes overruns its frame`);
    }
    let header: unknown;
    try {
      header = JSON.parse(frame.toString('utf8', 9, headerEnd));
    } catch (cause) {
      throw new WarmflowError('E_PROTOCOL', 'frame header is not JSON', { cause });
    }
    const message = this.#parse(header);
    if (kind === FrameKind.message) {
      if (headerEnd !== frame.length) {
        throw new WarmflowError('E_PROTOCOL', 'payload bytes in a frame without payload');
      }
      return { message, payload: undefined };
    }
    return { message, payload: frame.subarray(headerEnd) };
  }
}
