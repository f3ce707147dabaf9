import type { Consumer, ConsumerConfig, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { WarmflowError } from '../../errors.js';
import type { LiveBatch, LiveItem, LivePeek, LiveSource } from '../live/live-source.js';
import type { NatsSourceUrl, NatsStart } from '../live/live-url.js';
import { MessageBuffer } from '../live/message-buffer.js';
import { connectNats, requireStream, type NatsHandle } from './nats-connection.js';
import { Deliveries } from './deliveries.js';

/** Unacknowledged messages a consumer warmflow creates may have out (its bound on in-flight work). */
export const DEFAULT_MAX_ACK_PENDING = 50_000;
/** Messages the client asks the server for at a time. */
const PULL = 1024;

/**
 * A message's stream sequence and stored time, read from its acknowledgement subject
 * (`$JS.ACK.[<domain>.<account>.]<stream>.<consumer>.<delivered>.<stream seq>.<consumer
 * seq>.<nanos>.<pending>[.<token>]`) by position: the client's own accessors split the
 * subject and make a BigInt for every message, a large share of reading one.
 */
export function ackPosition(reply: string): { seq: number; storedMs: number } {
  const dots: number[] = [];
  for (let at = reply.indexOf('.'); at >= 0 && dots.length < 12; at = reply.indexOf('.', at + 1))
    dots.push(at);
  // Tokens: 9 in the old form (no domain and account), 11 or 12 in the new one.
  const shift = dots.length + 1 === 9 ? 0 : 2;
  const token = (i: number) =>
    reply.slice(dots[i - 1] + 1, i < dots.length ? dots[i] : reply.length);
  if (dots.length + 1 < 9 || !reply.startsWith('$JS.ACK.'))
    throw new Error(`not a JetStream message (reply subject "${reply}")`);
  const nanos = token(7 + shift);
  return {
    seq: Number(token(5 + shift)),
    storedMs: Number(nanos.length > 6 ? nanos.slice(0, -6) : 0),
  };
}

function item(m: JsMsg): LiveItem {
  // The client's message has its reply subject (not in the JsMsg type): read it directly.
  const reply = (m as Partial<{ reply: string }>).reply;
  const { seq, storedMs } =
    reply !== undefined && reply !== ''
      ? ackPosition(reply)
      : { seq: m.seq, storedMs: Number(m.timestampNanos / 1_000_000n) };
  return { data: m.data, line: seq, bytes: m.data.length, arrival_ms: storedMs };
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

/**
 * A JetStream stream read through a durable pull consumer named `group` (created with
 * explicit acks and the URL's `start` if it does not exist yet; an existing one is used as
 * it is, so a second run resumes after what the first acknowledged).
 */
export async function openNatsSource(url: NatsSourceUrl, group: string): Promise<LiveSource> {
  const handle = await connectNats(url.server);
  const { nc, jsm, jetstream } = handle;
  try {
    await requireStream(handle, url.stream, url.label);
    let maxAckPending = url.max_ack_pending ?? DEFAULT_MAX_ACK_PENDING;
    let ackWaitMs = url.ack_wait_ms ?? 30_000;
    try {
      const info = await jsm.consumers.info(url.stream, group);
      maxAckPending = info.config.max_ack_pending ?? maxAckPending;
      if (info.config.ack_wait !== undefined) ackWaitMs = info.config.ack_wait / 1_000_000;
    } catch {
      await jsm.consumers.add(url.stream, {
        durable_name: group,
        ack_policy: jetstream.AckPolicy.Explicit,
        ...deliverFrom(url.start, jetstream),
        ...(url.subject !== undefined ? { filter_subject: url.subject } : {}),
        ack_wait: (url.ack_wait_ms ?? 30_000) * 1_000_000,
        max_ack_pending: maxAckPending,
      });
    }
    const consumer = await jetstream.jetstream(nc).consumers.get(url.stream, group);
    const buffer = new MessageBuffer<JsMsg>();
    const messages = await consumeInto(consumer, buffer);
    const deliveries = new Deliveries(ackWaitMs);
    return {
      label: url.label,
      group,
      maxInFlight: maxAckPending,
      async next(max: number, waitMs: number): Promise<LiveBatch> {
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
      async lag() {
        const info = await consumer.info();
        return info.num_pending + info.num_ack_pending;
      },
      async close() {
        await messages.close();
        // Not acknowledged: redelivered to the group at once rather than after ack_wait.
        for (const m of [...deliveries.held(), ...buffer.drainAll()]) m.nak();
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
        return (await buffer.take(max, waitMs)).map(item);
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
