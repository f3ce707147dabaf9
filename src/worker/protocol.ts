import { createHash, timingSafeEqual } from 'node:crypto';
import { WarmflowError } from '../errors.js';

/**
 * The worker wire protocol, version 1. Every frame is
 *
 * ```
 * [u32 BE frame length (bytes after this field)] [u8 kind] [u32 BE header length] [JSON header] [payload]
 * ```
 *
 * The JSON header is a {@link WireMessage} (control: hello, ping, health, usage, shutdown, and
 * whatever the data plane defines); the payload is opaque bytes (e.g. a batch of records the data
 * plane encoded once) and travels without being re-encoded or copied into the header.
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
  code: string;
  message: string;
  hint?: string;
}

/**
 * One JSON control message. `type` names it; `id` marks a request that wants a response; a
 * response carries `re` (the request's id) and `ok`, with `error` when `ok` is false. Anything
 * else is the message's own fields.
 */
export interface WireMessage {
  type: string;
  id?: number;
  re?: number;
  ok?: boolean;
  error?: WireError;
  [field: string]: unknown;
}

/** A decoded frame. `payload` is undefined for {@link FrameKind.message}. */
export interface Frame {
  message: WireMessage;
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

/** Hashes a token to a fixed length so `timingSafeEqual` never sees buffers of different sizes. */
function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
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
