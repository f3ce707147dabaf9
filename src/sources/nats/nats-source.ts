import type { ConsumerConfig, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { WarmflowError } from '../../errors.js';
import type { LiveBatch, LiveItem, LivePeek, LiveSource } from '../live/live-source.js';
import { parseMessage } from '../live/live-source.js';
import type { NatsSourceUrl, NatsStart } from '../live/live-url.js';
import { MessageBuffer } from '../live/message-buffer.js';
import { connectNats, requireStream, storedAtMs, type NatsHandle } from './nats-connection.js';

/** Unacknowledged messages a consumer warmflow creates may have out (its bound on in-flight work). */
export const DEFAULT_MAX_ACK_PENDING = 20_000;
/** Messages the client asks the server for at a time. */
const PULL = 512;

const decoder = new TextDecoder();

function item(m: JsMsg): LiveItem {
  return parseMessage(
    decoder.decode(m.data),
    m.data.length,
    m.seq,
    String(m.seq),
    storedAtMs(m.timestampNanos),
  );
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

/** Runs `consume()` into a buffer until it stops. */
function pump(messages: ConsumerMessages, buffer: MessageBuffer<JsMsg>): void {
  void (async () => {
    try {
      for await (const m of messages) buffer.push(m);
      buffer.end();
    } catch (error) {
      buffer.end(error as Error);
    }
  })();
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
    try {
      const info = await jsm.consumers.info(url.stream, group);
      maxAckPending = info.config.max_ack_pending ?? maxAckPending;
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
    const messages = await consumer.consume({ max_messages: PULL });
    const buffer = new MessageBuffer<JsMsg>();
    pump(messages, buffer);
    /** Handed over, not acknowledged yet. */
    const out = new Set<JsMsg>();
    return {
      label: url.label,
      group,
      maxInFlight: maxAckPending,
      async next(max: number, waitMs: number): Promise<LiveBatch> {
        const taken = await buffer.take(max, waitMs);
        for (const m of taken) out.add(m);
        return {
          items: taken.map(item),
          async ack() {
            for (const m of taken) {
              m.ack();
              out.delete(m);
            }
            // A round trip: the server has every acknowledgement before this resolves.
            if (taken.length > 0) await nc.flush();
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
        for (const m of [...out, ...buffer.drainAll()]) m.nak();
        out.clear();
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
    const messages = await consumer.consume({ max_messages: PULL });
    const buffer = new MessageBuffer<JsMsg>();
    pump(messages, buffer);
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
