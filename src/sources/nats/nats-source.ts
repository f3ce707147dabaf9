import type {
  Consumer,
  ConsumerConfig,
  ConsumerInfo,
  ConsumerMessages,
  JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { WarmflowError } from '../../errors.js';
import type { LiveBatch, LiveItem, LivePeek, LiveSource } from '../live/live-source.js';
import type { NatsSourceUrl, NatsStart } from '../live/live-url.js';
import { MessageBuffer } from '../live/message-buffer.js';
import { connectNats, requireStream, type NatsHandle } from './nats-connection.js';
import { Deliveries } from './deliveries.js';
import { AckFloor, type ConsumerPosition } from './ack-floor.js';

/** Unacknowledged messages a consumer warmflow creates may have out (its bound on in-flight work). */
export const DEFAULT_MAX_ACK_PENDING = 50_000;
/** Messages the client asks the server for at a time. */
const PULL = 1024;

/** Where a message is: stream sequence, stored time, delivery number. */
interface Position {
  seq: number;
  storedMs: number;
  /** The consumer's sequence: one more for every delivery, redeliveries too. */
  delivery: number;
}

/** `$JS.ACK.` */
const ACK_PREFIX = Buffer.from('$JS.ACK.', 'latin1');
/** Where the dots of the subject being read are (reused: no allocation per message). */
const dotsAt = new Int32Array(16);

function digits(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + bytes[i] - 48;
  return n;
}

/**
 * A message's position, read from its acknowledgement subject (`$JS.ACK.[<domain>.<account>.]
 * <stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<nanos>.<pending>[.<token>]`)
 * by position, from the subject's bytes as the client received them: the client's own
 * accessors decode the subject into a string, split it and make a BigInt for every
 * message, a large share of reading one.
 */
export function ackPosition(reply: Uint8Array | string): Position {
  const bytes = typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply;
  let dots = 0;
  for (let i = 0; i < bytes.length && dots < dotsAt.length; i++)
    if (bytes[i] === 46) dotsAt[dots++] = i;
  // Tokens: 9 in the old form (no domain and account), 11 or 12 in the new one.
  if (dots + 1 < 9 || ACK_PREFIX.compare(bytes, 0, ACK_PREFIX.length) !== 0)
    throw new Error(
      `not a JetStream message (reply subject "${Buffer.from(bytes).toString('latin1')}")`,
    );
  const shift = dots + 1 === 9 ? 0 : 2;
  const from = (token: number) => dotsAt[token - 1] + 1;
  const to = (token: number) => (token < dots ? dotsAt[token] : bytes.length);
  const nanosFrom = from(7 + shift);
  const nanosTo = to(7 + shift);
  return {
    seq: digits(bytes, from(5 + shift), to(5 + shift)),
    delivery: digits(bytes, from(6 + shift), to(6 + shift)),
    storedMs: nanosTo - nanosFrom > 6 ? digits(bytes, nanosFrom, nanosTo - 6) : 0,
  };
}

/** The position of `m` (see {@link ackPosition}). */
function positionOf(m: JsMsg): Position {
  // The client keeps the reply subject's bytes under the message (not in its types).
  const raw = (m as unknown as { msg?: { _msg?: { reply?: unknown } } }).msg?._msg?.reply;
  if (raw instanceof Uint8Array && raw.length > 0) return ackPosition(raw);
  const reply = (m as Partial<{ reply: string }>).reply;
  return reply !== undefined && reply !== ''
    ? ackPosition(reply)
    : {
        seq: m.seq,
        storedMs: Number(m.timestampNanos / 1_000_000n),
        delivery: m.info.deliverySequence,
      };
}

function item(m: JsMsg, at = positionOf(m)): LiveItem {
  const data = m.data;
  return { data, line: at.seq, bytes: data.length, arrival_ms: at.storedMs };
}

function deliverFrom(
  start: NatsStart,
  jetstream: NatsHandle['jetstream'],
): Partial<ConsumerConfig> {
  const { DeliverPolicy } = jetstream;
  switch (start.from) {
    case 'all':
      return { deliver_policy: DeliverPolicy.All };
    case 'new':
      return { deliver_policy: DeliverPolicy.New };
    case 'seq':
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq };
    case 'time':
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time };
  }
}

/**
 * `consume()` delivering into `buffer` until it stops. The callback form, not the async
 * iterator: the iterator costs a generator step and a promise per message, which at tens of
 * thousands of messages a second is a visible share of the orchestrator's main thread.
 */
async function consumeInto(
  consumer: Consumer,
  buffer: MessageBuffer<JsMsg>,
): Promise<ConsumerMessages> {
  const messages = await consumer.consume({ max_messages: PULL, callback: (m) => buffer.push(m) });
  void messages.closed().then(
    (failure) => buffer.end(failure instanceof Error ? failure : undefined),
    (error: unknown) => buffer.end(error instanceof Error ? error : new Error(String(error))),
  );
  return messages;
}

/** Where an existing or new consumer stands, for a reader of an `AckAll` one. */
function openedAt(info: ConsumerInfo): ConsumerPosition {
  return {
    floor: info.ack_floor.stream_seq,
    deliveries: info.delivered.consumer_seq,
    pending: info.num_ack_pending,
  };
}

/**
 * A JetStream stream read through a durable pull consumer named `group`. One warmflow
 * creates (if it does not exist yet, with the URL's `start`) acknowledges with `AckAll`:
 * a commit point sends one acknowledgement, of its last message, for all of them (see
 * {@link AckFloor}). An existing consumer is used as it is, so a second run resumes after
 * what the first acknowledged; one with explicit acks gets one acknowledgement per message.
 */
export async function openNatsSource(url: NatsSourceUrl, group: string): Promise<LiveSource> {
  const handle = await connectNats(url.server);
  const { nc, jsm, jetstream } = handle;
  try {
    await requireStream(handle, url.stream, url.label);
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.info(url.stream, group);
    } catch {
      info = await jsm.consumers.add(url.stream, {
        durable_name: group,
        ack_policy: jetstream.AckPolicy.All,
        ...deliverFrom(url.start, jetstream),
        ...(url.subject !== undefined ? { filter_subject: url.subject } : {}),
        ack_wait: (url.ack_wait_ms ?? 30_000) * 1_000_000,
        max_ack_pending: url.max_ack_pending ?? DEFAULT_MAX_ACK_PENDING,
      });
    }
    const maxAckPending = info.config.max_ack_pending ?? DEFAULT_MAX_ACK_PENDING;
    const ackWaitMs =
      info.config.ack_wait !== undefined ? info.config.ack_wait / 1_000_000 : 30_000;
    const consumer = await jetstream.jetstream(nc).consumers.get(url.stream, group);
    const buffer = new MessageBuffer<JsMsg>();
    const messages = await consumeInto(consumer, buffer);
    const reader =
      info.config.ack_policy === jetstream.AckPolicy.All
        ? ackAllReader(new AckFloor<JsMsg>(openedAt(info)), buffer, nc, consumer)
        : explicitReader(new Deliveries(ackWaitMs), buffer, nc);
    return {
      label: url.label,
      group,
      maxInFlight: maxAckPending,
      next: (max, waitMs) => reader.next(max, waitMs),
      async lag() {
        const now = await consumer.info();
        return now.num_pending + now.num_ack_pending;
      },
      async close() {
        await messages.close();
        // Not acknowledged: redelivered to the group at once rather than after ack_wait.
        for (const m of [...reader.held(), ...buffer.drainAll()]) m.nak();
        await nc.drain();
      },
    };
  } catch (error) {
    await nc.close();
    if (error instanceof WarmflowError) throw error;
    throw new WarmflowError('E_SOURCE', `${url.label}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** How a source takes batches from its buffer and acknowledges them, by ack policy. */
interface Reader {
  next(max: number, waitMs: number): Promise<LiveBatch>;
  /** The messages handed over and not acknowledged (closing: they are given back). */
  held(): JsMsg[];
}

/** An explicit-ack consumer: every message is acknowledged by itself. */
function explicitReader(
  deliveries: Deliveries,
  buffer: MessageBuffer<JsMsg>,
  nc: NatsConnection,
): Reader {
  return {
    async next(max, waitMs) {
      const items: LiveItem[] = [];
      for (const m of await buffer.take(max, waitMs)) {
        const it = item(m);
        if (deliveries.take(it.line, m)) items.push(it);
      }
      return {
        items,
        async ack() {
          for (const it of items) deliveries.ack(it.line);
          // A round trip: the server has every acknowledgement before this resolves.
          if (items.length > 0) await nc.flush();
        },
      };
    },
    held: () => deliveries.held(),
  };
}

/**
 * An `AckAll` consumer: a batch keeps its sequences (to mark them done) and its messages
 * (to give them back on close); the batches acknowledged in one go (a commit point's) send
 * one acknowledgement.
 */
function ackAllReader(
  floor: AckFloor<JsMsg>,
  buffer: MessageBuffer<JsMsg>,
  nc: NatsConnection,
  consumer: Consumer,
): Reader {
  const held = new Set<JsMsg[]>();
  let sending: Promise<void> | null = null;
  /** While acknowledgements are held back: whether the server now sees only what this holds. */
  const settle = async () => {
    let mine = floor.outstanding;
    const buffered = new Set<number>();
    for (const m of buffer.peek()) {
      const { seq } = positionOf(m);
      if (floor.wouldTake(seq)) buffered.add(seq);
    }
    mine += buffered.size;
    const missed = floor.missed;
    const info = await consumer.info();
    floor.settle(mine, missed, info.num_ack_pending);
  };
  // Every batch acknowledged in this turn (a commit acknowledges its batches at once) is
  // covered by the one acknowledgement sent once they are all counted.
  const sendSoon = (): Promise<void> =>
    (sending ??= Promise.resolve().then(async () => {
      sending = null;
      if (floor.holding) await settle();
      const last = floor.next();
      if (last === null) return;
      last.ack();
      // A round trip: the server has the acknowledgement before this resolves.
      await nc.flush();
    }));
  return {
    async next(max, waitMs) {
      const items: LiveItem[] = [];
      const taken: JsMsg[] = [];
      let top = -1;
      for (const m of await buffer.take(max, waitMs)) {
        const at = positionOf(m);
        if (!floor.take(at.seq, at.delivery)) continue;
        if (top < 0 || at.seq > items[top].line) top = items.length;
        items.push(item(m, at));
        taken.push(m);
      }
      if (taken.length > 0) held.add(taken);
      return {
        items,
        async ack() {
          if (!held.delete(taken)) return;
          floor.done(
            items.map((it) => it.line),
            { seq: items[top].line, message: taken[top] },
          );
          await sendSoon();
        },
      };
    },
    held() {
      const all = [...held].flat();
      held.clear();
      return all;
    },
  };
}

/**
 * Reads a JetStream stream through an ordered (ephemeral) consumer: nothing is
 * acknowledged and no durable consumer moves, so profiling takes nothing from anyone.
 */
export async function openNatsPeek(url: NatsSourceUrl, from: 'now' | 'start'): Promise<LivePeek> {
  const handle = await connectNats(url.server);
  const { nc, jsm, jetstream } = handle;
  try {
    await requireStream(handle, url.stream, url.label);
    const consumer = await jetstream.jetstream(nc).consumers.get(url.stream, {
      deliver_policy: from === 'now' ? jetstream.DeliverPolicy.New : jetstream.DeliverPolicy.All,
      ...(url.subject !== undefined ? { filter_subjects: url.subject } : {}),
    });
    const buffer = new MessageBuffer<JsMsg>();
    const messages = await consumeInto(consumer, buffer);
    return {
      label: url.label,
      async next(max: number, waitMs: number) {
        return (await buffer.take(max, waitMs)).map((m) => item(m));
      },
      async lag() {
        if (url.group === undefined) return undefined;
        try {
          const info = await jsm.consumers.info(url.stream, url.group);
          return info.num_pending + info.num_ack_pending;
        } catch {
          return undefined;
        }
      },
      async close() {
        await messages.close();
        await nc.drain();
      },
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
