/**
 * One message of a live stream as a source item (the shape of the file sources' items, so
 * the profiler and the data plane take either): `line` is the message's stream position
 * as a number (NATS: the stream sequence; Redis: the entry's ordinal in this read),
 * `position` how the stream itself names it (`"17"`, `"1733312000000-0"`), `arrival_ms`
 * when the stream stored it (server time, so a backlog read later keeps its real rate).
 */
export interface LiveItem {
  /** The parsed record (absent when `error` says why the message is not one). */
  record?: unknown;
  error?: string;
  line: number;
  /** Bytes of the message body. */
  bytes: number;
  arrival_ms: number;
  position: string;
  /** The start of a malformed message's text, for its dead letter. */
  raw?: string;
}

/**
 * Messages read together, acknowledged together. `ack` tells the stream that every message
 * of the batch is done with (their outputs durable): they are not delivered to the group
 * again. Until then a crash leaves them to be redelivered to the next reader of the group.
 */
export interface LiveBatch {
  items: LiveItem[];
  ack(): Promise<void>;
}

/**
 * The contract of a live source (NATS JetStream, Redis Streams; a Kafka adapter is one
 * more implementation): reads through a named consumer group, so several runs share the
 * work and a new run of the group resumes where the acknowledged messages end.
 *
 * Reading is pull-based: the caller asks for at most `max` messages when it has room for
 * them, so a producer faster than the flow grows the stream's lag, not this process's memory.
 */
export interface LiveSource {
  /** The URL with any password hidden, for messages. */
  readonly label: string;
  /** The consumer group (durable consumer) this source reads through. */
  readonly group: string;
  /** Messages the stream lets this reader hold unacknowledged; acknowledge before reaching it. */
  readonly maxInFlight: number;
  /** Waits up to `waitMs` for at least one message and returns up to `max` (possibly none). */
  next(max: number, waitMs: number): Promise<LiveBatch>;
  /** Messages of the stream the group has not acknowledged yet (pending + unread), when known. */
  lag(): Promise<number | undefined>;
  /** Stops reading; unacknowledged messages stay pending for redelivery. */
  close(): Promise<void>;
}

/**
 * Reading a stream without consuming it (for `warmflow profile`): no group is created or
 * moved; `from: 'start'` reads the stream from its first message, `now` only what arrives.
 */
export interface LivePeek {
  readonly label: string;
  /** Waits up to `waitMs` and returns up to `max` items (possibly none). */
  next(max: number, waitMs: number): Promise<LiveItem[]>;
  /** The lag of the group named in the URL, if one is and it exists. */
  lag(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Parses one message body as a JSON record; anything but a JSON object is a malformed item. */
export function parseMessage(
  text: string,
  bytes: number,
  line: number,
  position: string,
  arrivalMs: number,
): LiveItem {
  try {
    const record: unknown = JSON.parse(text);
    if (record === null || typeof record !== 'object' || Array.isArray(record))
      return {
        raw: text.slice(0, 4096),
        error: `a message must be one JSON object, got ${Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record}`,
        line,
        position,
        bytes,
        arrival_ms: arrivalMs,
      };
    return { record, line, position, bytes, arrival_ms: arrivalMs };
  } catch (error) {
    return {
      error: (error as Error).message,
      raw: text.slice(0, 4096),
      line,
      position,
      bytes,
      arrival_ms: arrivalMs,
    };
  }
}
