import type { JsMsg } from '@nats-io/jetstream';

/** The part of a delivered message this uses: its acknowledgement. */
export interface Ackable {
  ack(): void;
}

/**
 * The messages a reader handed over and has not acknowledged, by stream sequence. JetStream
 * delivers a message again once `ack_wait` passes without its acknowledgement — while an
 * epoch holding it is still being committed, say, or just after it was acknowledged — so
 * a delivery of a sequence held or acknowledged lately is not handed over again: it is
 * acknowledged with the first one (or at once). Each message is then in exactly one batch,
 * which is what lets a checkpointed run put every message in exactly one epoch.
 */
export class Deliveries<M extends Ackable = JsMsg> {
  readonly #held = new Map<number, M[]>();
  /** Sequences acknowledged, with when: a redelivery may still be on its way for a while. */
  readonly #acked = new Map<number, number>();
  readonly #rememberMs: number;

  constructor(ackWaitMs: number) {
    this.#rememberMs = Math.max(60_000, 4 * ackWaitMs);
  }

  /** Whether `m` (stream sequence `seq`) is new, to hand over; a repeated delivery is kept aside. */
  take(seq: number, m: M): boolean {
    const held = this.#held.get(seq);
    if (held !== undefined) {
      held.push(m);
      return false;
    }
    if (this.#acked.has(seq)) {
      m.ack();
      return false;
    }
    this.#held.set(seq, [m]);
    return true;
  }

  /** Acknowledges every delivery of `seq`. */
  ack(seq: number): void {
    for (const m of this.#held.get(seq) ?? []) m.ack();
    this.#held.delete(seq);
    const now = performance.now();
    this.#acked.set(seq, now);
    for (const [old, at] of this.#acked) {
      if (now - at < this.#rememberMs) break;
      this.#acked.delete(old);
    }
  }

  /** Every delivery held, and forgets them (closing: they are given back). */
  held(): M[] {
    const all = [...this.#held.values()].flat();
    this.#held.clear();
    return all;
  }
}
