import { describe, expect, it } from 'vitest';
import { Deliveries } from './deliveries.js';

/** A delivery that counts its acknowledgements. */
function delivery(): { ack(): void; acks: number } {
  return {
    acks: 0,
    ack() {
      this.acks++;
    },
  };
}

describe('Deliveries', () => {
  it('hands a sequence over once; a redelivery while held is acknowledged with the first', () => {
    const deliveries = new Deliveries<ReturnType<typeof delivery>>(2000);
    const first = delivery();
    const again = delivery();
    expect(deliveries.take(7, first)).toBe(true);
    expect(deliveries.take(7, again)).toBe(false);
    expect(again.acks).toBe(0);
    deliveries.ack(7);
    expect([first.acks, again.acks]).toEqual([1, 1]);
    expect(deliveries.held()).toEqual([]);
  });

  it('a delivery of a sequence acknowledged lately is acknowledged at once and dropped', () => {
    const deliveries = new Deliveries<ReturnType<typeof delivery>>(2000);
    expect(deliveries.take(3, delivery())).toBe(true);
    deliveries.ack(3);
    const late = delivery();
    expect(deliveries.take(3, late)).toBe(false);
    expect(late.acks).toBe(1);
    // Another sequence is new.
    expect(deliveries.take(4, delivery())).toBe(true);
  });

  it('gives back every held delivery on close', () => {
    const deliveries = new Deliveries<ReturnType<typeof delivery>>(2000);
    const a = delivery();
    const b = delivery();
    const c = delivery();
    deliveries.take(1, a);
    deliveries.take(1, b);
    deliveries.take(2, c);
    expect(deliveries.held()).toEqual([a, b, c]);
    expect(deliveries.held()).toEqual([]);
  });
});
