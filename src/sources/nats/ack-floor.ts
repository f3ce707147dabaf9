import type { Ackable } from './deliveries.js';

/** Where an `AckAll` consumer stood when a reader opened it (from its consumer info). */
export interface ConsumerPosition {
  /** `ack_floor.stream_seq`: every message up to it is acknowledged. */
  floor: number;
  /** `delivered.consumer_seq`: deliveries made before (the next one is numbered one more). */
  deliveries: number;
  /** `num_ack_pending`: delivered before, not acknowledged (a reader died holding them). */
  pending: number;
}

/** A done batch's highest message and its stream sequence. */
export interface BatchTop<M> {
  seq: number;
  message: M;
}

const WORD = 32;

/**
 * The reader's side of an `AckAll` consumer: acknowledging a message acknowledges every
 * message of the consumer up to its stream sequence, so a commit point sends one
 * acknowledgement (the highest message it may cover) instead of one per message.
 *
 * Which stream sequences were handed over, and which of those are done (their outputs
 * durable), is kept as two bitmaps from the acknowledged floor up: a delivery of a
 * sequence handed over or acknowledged (a redelivery after `ack_wait`) is dropped, so each
 * message is in exactly one batch, and an acknowledgement never covers a message handed
 * over and not done.
 *
 * Nor may it cover a message delivered to someone else: one an earlier reader of the group
 * held when it died (`pending` when this one opened), or one whose delivery did not reach
 * this reader (the consumer's delivery numbers skip one — a reconnection, a pull request
 * that expired). The server redelivers those after `ack_wait`, possibly after newer ones;
 * until then they are pending on the server without being held here. While that may be so
 * (`holding`), acknowledgements wait until the server's count of pending messages is no
 * more than what this reader holds ({@link settle}).
 *
 * The server also ignores an acknowledgement whose delivery number is not above the last
 * acknowledged one's (nats-server: `dseq <= o.adflr` is a no-op for `AckAll`). A redelivered
 * message has a newer delivery number than messages of higher sequences delivered before it,
 * so acknowledging it first would make theirs ignored and leave them pending (redelivered
 * after `ack_wait`, again and again). An acknowledgement therefore waits while a message of
 * a higher sequence, handed over and not acknowledged, came with a lower delivery number
 * ({@link next}): acknowledgements go out in the order of both numbers.
 */
export class AckFloor<M extends Ackable> {
  /** The highest sequence acknowledged to the server. */
  #sent: number;
  /** Bit `i` of the maps is sequence `#base + i`; `#base` is a multiple of 32 plus one. */
  #base: number;
  #taken = new Uint32Array(64);
  #done = new Uint32Array(64);
  /** The delivery number each sequence handed over came as (index `seq - #base`). */
  #deliveries = new Float64Array(64 * WORD);
  /** Handed over, not acknowledged to the server. */
  #outstanding = 0;
  /** The next delivery number expected. */
  #nextDelivery: number;
  /** Deliveries seen to have gone elsewhere. */
  #missed = 0;
  #holding: boolean;
  /** Done batches' highest messages, not covered by an acknowledgement yet. */
  #tops: Array<BatchTop<M>> = [];

  constructor(opened: ConsumerPosition) {
    this.#sent = opened.floor;
    this.#base = opened.floor + 1 - (opened.floor % WORD);
    this.#nextDelivery = opened.deliveries + 1;
    this.#holding = opened.pending > 0;
  }

  /** Whether delivery number `delivery`, of stream sequence `seq`, is new (to hand over). */
  take(seq: number, delivery: number): boolean {
    if (delivery > this.#nextDelivery) {
      this.#missed += delivery - this.#nextDelivery;
      this.#holding = true;
    }
    if (delivery >= this.#nextDelivery) this.#nextDelivery = delivery + 1;
    if (seq <= this.#sent) return false;
    const i = seq - this.#base;
    const word = i >>> 5;
    const bit = 1 << (i & 31);
    if (word >= this.#taken.length) this.#grow(word + 1);
    if ((this.#taken[word] & bit) !== 0) return false;
    this.#taken[word] |= bit;
    this.#deliveries[i] = delivery;
    this.#outstanding++;
    return true;
  }

  /** Whether a delivery of `seq` would be new (without taking it). */
  wouldTake(seq: number): boolean {
    if (seq <= this.#sent) return false;
    const i = seq - this.#base;
    return i >>> 5 >= this.#taken.length || (this.#taken[i >>> 5] & (1 << (i & 31))) === 0;
  }

  /** A batch is done with (its outputs durable): its sequences, and its highest message. */
  done(seqs: ArrayLike<number>, top: BatchTop<M>): void {
    for (let k = 0; k < seqs.length; k++) {
      const i = seqs[k] - this.#base;
      if (i >= 0) this.#done[i >>> 5] |= 1 << (i & 31);
    }
    this.#tops.push(top);
  }

  /** Whether acknowledgements wait for {@link settle}. */
  get holding(): boolean {
    return this.#holding;
  }

  /** What this reader holds, for {@link settle}: messages handed over and not acknowledged. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Deliveries seen to have gone elsewhere so far (a mark for {@link settle}). */
  get missed(): number {
    return this.#missed;
  }

  /**
   * Lifts the hold if the server's pending count (`serverPending`, asked after `mine` —
   * what this reader held then, handed over or buffered — and `missed` were noted) shows
   * that nothing else is pending: every message the server sees pending is one this reader
   * has. A delivery missed since then keeps it.
   */
  settle(mine: number, missed: number, serverPending: number): void {
    if (serverPending <= mine && missed === this.#missed) this.#holding = false;
  }

  /**
   * The acknowledgement to send now, if one is due and may go out: the highest done
   * batch's message below every message handed over and not done — unless a message above
   * it, handed over and not acknowledged, came with a lower delivery number (the server would
   * then ignore that message's acknowledgement; this one waits until one covers both).
   * Counted as sent.
   */
  next(): M | null {
    if (this.#holding || this.#tops.length === 0) return null;
    const limit = this.#firstUndone();
    let best: BatchTop<M> | null = null;
    for (const top of this.#tops)
      if (top.seq < limit && (best === null || top.seq > best.seq)) best = top;
    if (best === null) return null;
    if (best.seq <= this.#sent) {
      const sent = this.#sent;
      this.#tops = this.#tops.filter((top) => top.seq > sent);
      return null;
    }
    if (this.#lowestDeliveryAbove(best.seq) < this.#deliveries[best.seq - this.#base]) return null;
    const covered = best.seq;
    this.#tops = this.#tops.filter((top) => top.seq > covered);
    this.#advance(best.seq);
    return best.message;
  }

  /** The lowest delivery number of a sequence above `seq` handed over (Infinity if none). */
  #lowestDeliveryAbove(seq: number): number {
    let lowest = Infinity;
    const from = seq + 1 - this.#base;
    for (let w = from >>> 5; w < this.#taken.length; w++) {
      let bits = this.#taken[w];
      if (w === from >>> 5) bits &= ~0 << (from & 31);
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const d = this.#deliveries[w * WORD + b];
        if (d < lowest) lowest = d;
      }
    }
    return lowest;
  }

  /** The lowest sequence handed over and not done (Infinity if none). */
  #firstUndone(): number {
    for (let w = 0; w < this.#taken.length; w++) {
      const open = this.#taken[w] & ~this.#done[w];
      if (open !== 0) return this.#base + w * WORD + (31 - Math.clz32(open & -open));
    }
    return Infinity;
  }

  /** Everything up to `seq` is acknowledged: drops it from the maps. */
  #advance(seq: number): void {
    const upTo = seq - this.#base; // bits 0..upTo are now acknowledged
    for (let i = this.#sent + 1 - this.#base; i <= upTo; i++)
      if ((this.#taken[i >>> 5] & (1 << (i & 31))) !== 0) this.#outstanding--;
    this.#sent = seq;
    const drop = Math.min(this.#taken.length, Math.floor((upTo + 1) / WORD));
    if (drop > 0) {
      this.#taken.copyWithin(0, drop).fill(0, this.#taken.length - drop);
      this.#done.copyWithin(0, drop).fill(0, this.#done.length - drop);
      this.#deliveries.copyWithin(0, drop * WORD).fill(0, this.#deliveries.length - drop * WORD);
      this.#base += drop * WORD;
    }
  }

  #grow(words: number): void {
    const size = Math.max(words, this.#taken.length * 2);
    const taken = new Uint32Array(size);
    const done = new Uint32Array(size);
    const deliveries = new Float64Array(size * WORD);
    taken.set(this.#taken);
    done.set(this.#done);
    deliveries.set(this.#deliveries);
    this.#taken = taken;
    this.#done = done;
    this.#deliveries = deliveries;
  }
}
