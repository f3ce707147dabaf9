/**
 * One message of a live stream as it was read, not parsed: its body is handed on as bytes
 * and parsed once, where the records are used (a data-plane thread), or by
 * {@link parseLiveItem}. `line` is the message's stream position as a number (NATS: the
 * stream sequence; Redis: the entry's ordinal in this read), `position` how the stream
 * names it when that is not `line` (a Redis entry id, `"1733312000000-0"`), `arrival_ms`
 * when the stream stored it (server time, so a backlog read later keeps its real rate).
 */
export interface LiveItem {
  /** The message body (for a Redis entry of several fields, those fields as a JSON object). */
  data: Uint8Array;
  /** Set when the stream itself says the message is unusable (a deleted Redis entry). */
  error?: string;
  line: number;
  position?: string;
  /** Bytes of the message body. */
  bytes: number;
  arrival_ms: number;
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

const decoder = new TextDecoder();

/** Why parsed JSON is not a record, or null when it is one (a JSON object). */
export function notARecord(value: unknown): string | null {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return null;
  const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
  return `a message must be one JSON object, got ${got}`;
}

/**
 * Parses one message as a JSON record; anything but a JSON object is malformed, with the
 * start of its text (for its dead letter).
 */
export function parseLiveItem(
  item: LiveItem,
): { record: unknown } | { error: string; raw: string } {
  const text = decoder.decode(item.data);
  if (item.error !== undefined) return { error: item.error, raw: text.slice(0, 4096) };
  try {
    const record: unknown = JSON.parse(text);
    const why = notARecord(record);
    return why === null ? { record } : { error: why, raw: text.slice(0, 4096) };
  } catch (error) {
    return { error: (error as Error).message, raw: text.slice(0, 4096) };
  }
}
